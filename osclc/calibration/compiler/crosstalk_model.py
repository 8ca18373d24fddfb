"""The blurred SLM's light at a pattern's held points, and the objective the crosstalk compensation minimises.

The model SLM's transmittance is ``z exp(-i C) + (1 - z) exp(i (G * shown - C))`` (unmodulated fraction z,
wavefront correction C, fringing blur G; :mod:`osclc.drivers.physics.slm_response`). What a readout grid g holds is
``Y_g = E_r^T T E_c`` with ``E_r[x, k] = exp(2 pi i f_k x)`` over the SLM rows x (offsets from the box's first
row) and the grid's row frequencies f_k, likewise for the columns. The box's phases change ``T`` only on the
*region* (the box and the blur radius r around it, :class:`Region`); the rest of the SLM adds a constant per grid
(:meth:`Region.surround`).

The objective (:class:`BandObjective`) is ``1 - |<Z, Y>|^2 / (|Z|^2 |Y|^2)`` over the pattern's grids (Z: the
wanted mask's held field). It is computed exactly in a compressed form: ``E_r^T`` restricted to the region is
``U S V^H`` with only ~k = bandwidth x region width singular values above :data:`RANK_TOLERANCE` of the largest
(66 of 195 for the 1920 x 1152 benchmark mask), so ``Y = U_r W U_c^T + C`` with ``W = (S V^H)_r T (S V^H)_c^T``
of k x k; since U has orthonormal columns, ``|Y|^2 = |W + U_r^H C conj(U_c)|^2 + |C_perp|^2`` and
``<Z, Y> = <Z~, W + U_r^H C conj(U_c)>`` (``C_perp``: the part of the surround's constant no change of the box can
reach). Single precision: the fit needs ~1e-6, not more.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from osclc.drivers.physics.slm_response import blur_phase, fringing_kernel

TWO_PI = 2.0 * np.pi
RANK_TOLERANCE = 1e-7
"""Singular values of a grid's frequency matrix below this fraction of its largest are dropped: their share of
the held field is below single precision."""


@dataclass(frozen=True)
class Band:
    """Where one pattern's light is read: frequencies (cycles per SLM pixel of the box) per axis.

    ``rows[g]`` / ``cols[g]`` are the row and column frequencies of grid g (each a 1-D array); the
    pattern's readout points are the union of the grids' outer products.
    """

    rows: list[np.ndarray]
    cols: list[np.ndarray]


def region_slices(shape: tuple[int, int], box: tuple[int, int, int, int], radius: int) -> tuple[slice, slice]:
    """The SLM rows and columns of ``box`` (row0, col0, rows, cols) and ``radius`` pixels around it, clipped at the
    border of an SLM of ``shape``: where the box's phases change the blurred phase."""
    r0, c0, h, w = box
    return (slice(max(r0 - radius, 0), min(r0 + h + radius, shape[0])),
            slice(max(c0 - radius, 0), min(c0 + w + radius, shape[1])))


def phasors(positions: np.ndarray, frequencies: np.ndarray) -> np.ndarray:
    """``exp(2 pi i x f)`` [len(x), len(f)] (complex64) for pixel offsets ``x`` and frequencies ``f`` (cycles per
    pixel); the phase is reduced to one cycle in double precision first, so thousands of pixels lose nothing."""
    cycles = np.outer(np.asarray(positions, np.float64), np.asarray(frequencies, np.float64))
    cycles -= np.round(cycles)
    return cis((TWO_PI * cycles).astype(np.float32))


def cis(phase: np.ndarray) -> np.ndarray:
    """``exp(i phase)`` (complex64) of a float32 ``phase`` (rad)."""
    out = np.empty(phase.shape, np.complex64)
    np.cos(phase, out=out.real)
    np.sin(phase, out=out.imag)
    return out


class Region:
    """The SLM pixels whose blurred phase the box changes, and the fixed rest of the SLM.

    ``background``: the phase shown around the box (whole SLM, rad); ``correction``: the wavefront correction
    (whole SLM, rad); ``box``: (row0, col0, rows, cols); ``sigma_px``, ``zero_order``: the crosstalk blur (> 0)
    and the unmodulated field fraction. The region is the box and the blur radius r around it, clipped at the
    SLM's border; frequencies act on pixel offsets from the box's first pixel.
    """

    def __init__(self, background: np.ndarray, correction: np.ndarray, box: tuple[int, int, int, int],
                 sigma_px: float, zero_order: float) -> None:
        self.kernel = fringing_kernel(sigma_px).astype(np.float32)
        r = self.radius = (self.kernel.size - 1) // 2
        r0, c0, self.h, self.w = box
        self.origin = (r0, c0)
        self.z0 = float(zero_order)
        background = np.asarray(background, np.float32)
        correction = np.asarray(correction, np.float32)
        # the shown phases of the box and 2r around it (the SLM's edge continued beyond its border): the work frame
        self.work = _edge_window(background, (r0 - 2 * r, r0 + self.h + 2 * r), (c0 - 2 * r, c0 + self.w + 2 * r))
        self.beyond = ((max(2 * r - r0, 0), max(r0 + self.h + 2 * r - background.shape[0], 0)),
                       (max(2 * r - c0, 0), max(c0 + self.w + 2 * r - background.shape[1], 0)))
        """Rows (top, bottom) and columns (left, right) of the work frame beyond the SLM's border."""
        self.correction = _edge_window(correction, (r0 - r, r0 + self.h + r), (c0 - r, c0 + self.w + r))
        self.rows, self.cols = region_slices(background.shape, box, r)
        # the region inside the box + r frame (the region is clipped at the SLM's border)
        self.inner = (slice(self.rows.start - (r0 - r), self.rows.stop - (r0 - r)),
                      slice(self.cols.start - (c0 - r), self.cols.stop - (c0 - r)))
        modulated = blur_phase(background, self.kernel)
        corrected = bool(np.any(correction))
        if corrected:
            modulated -= correction
        field = cis(modulated)
        field *= 1.0 - self.z0
        field[self.rows, self.cols] = 0.0
        if corrected:
            field += self.z0 * cis(-correction)
        else:
            field += self.z0
        self.field = field
        """The fixed rest of the SLM's transmittance (0 on the region's modulated part; the unmodulated light everywhere)."""

    def surround(self, rows_f: np.ndarray, cols_f: np.ndarray) -> np.ndarray:
        """What the fixed rest of the SLM sends to the held points of one grid [rows_f, cols_f] (complex64): the
        product over the whole SLM, its rows taken through their ~bandwidth x height independent modes."""
        r0, c0 = self.origin
        u, a = _compressed(np.arange(self.field.shape[0]) - r0, rows_f)
        e_cols = phasors(np.arange(self.field.shape[1]) - c0, cols_f)
        return u.astype(np.complex64) @ ((a @ self.field) @ e_cols)

    @property
    def offsets(self) -> tuple[np.ndarray, np.ndarray]:
        """The region's rows and columns as offsets from the box's first pixel (what frequencies act on)."""
        return (np.arange(self.rows.start, self.rows.stop) - self.origin[0],
                np.arange(self.cols.start, self.cols.stop) - self.origin[1])

    def phase(self, shown: np.ndarray) -> np.ndarray:
        """The model transmittance's phase on the region: the box's ``shown`` phases [rows, cols] (rad) with the
        surround, blurred, minus the correction."""
        r = self.radius
        self.work[2 * r:2 * r + self.h, 2 * r:2 * r + self.w] = shown
        (top, bottom), (left, right) = self.beyond
        if top or bottom or left or right:  # the SLM's edge pixels, now partly the box's, continue beyond it
            self.work[:top] = self.work[top]
            self.work[self.work.shape[0] - bottom:] = self.work[self.work.shape[0] - bottom - 1]
            self.work[:, :left] = self.work[:, left:left + 1]
            self.work[:, self.work.shape[1] - right:] = self.work[:, self.work.shape[1] - right - 1:self.work.shape[1] - right]
        blurred = blur_phase(self.work, self.kernel)[r:-r, r:-r]
        blurred -= self.correction
        return blurred[self.inner]

    def gradient_frame(self) -> np.ndarray:
        """A zero frame for :meth:`blur_adjoint` whose region part (``frame[r:-r, r:-r][inner]``) takes a gradient."""
        return np.zeros(self.work.shape, np.float32)

    def blur_adjoint(self, frame: np.ndarray) -> np.ndarray:
        """A gradient in the region's blurred phases (written into the region part of ``frame``, zero elsewhere)
        taken back to the box's shown phases: the blur is symmetric, so its adjoint is the same blur."""
        r = self.radius
        gradient = blur_phase(frame, self.kernel, cv2.BORDER_CONSTANT)
        (top, bottom), (left, right) = self.beyond
        rows, cols = gradient.shape
        if left or right:  # what the copies of the SLM's edge pixels received goes to those pixels (columns last copied)
            gradient[:, left] += gradient[:, :left].sum(axis=1)
            gradient[:, cols - right - 1] += gradient[:, cols - right:].sum(axis=1)
        if top or bottom:
            gradient[top] += gradient[:top].sum(axis=0)
            gradient[rows - bottom - 1] += gradient[rows - bottom:].sum(axis=0)
        return gradient[2 * r:2 * r + self.h, 2 * r:2 * r + self.w]


def _edge_window(image: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """``image[rows[0]:rows[1], cols[0]:cols[1]]`` (a copy) where the bounds may lie outside the image: its edge
    pixels continue there."""
    n_rows, n_cols = image.shape
    inside = image[max(rows[0], 0):min(rows[1], n_rows), max(cols[0], 0):min(cols[1], n_cols)]
    pads = ((max(-rows[0], 0), max(rows[1] - n_rows, 0)), (max(-cols[0], 0), max(cols[1] - n_cols, 0)))
    return np.pad(inside, pads, mode="edge")


def _compressed(positions: np.ndarray, frequencies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``E = phasors(positions, frequencies)`` [pixels, points] as ``E^T = U A`` with orthonormal U [points, k] and
    ``A = U^H E^T`` [k, pixels] (complex64), k the singular values of E above :data:`RANK_TOLERANCE` of the largest.

    For consecutive ``positions`` (centre c, n of them) the Gram matrix ``E^T conj(E)`` is ``D K D^H`` with
    ``D = diag(exp(2 pi i f c))`` and the real Dirichlet kernel ``K = sin(pi n df) / sin(pi df)`` (``n cos(pi (n - 1)
    df)`` where df is a whole number of cycles: aliases): U is D times the eigenvectors of K (a real symmetric
    eigenproblem, no product over the pixels)."""
    f = np.asarray(frequencies, np.float64)
    n = positions.size
    centre = float(positions[0]) + (n - 1) / 2
    difference = f[:, None] - f[None, :]
    denominator = np.sin(np.pi * difference)
    aliased = np.abs(denominator) < 1e-12
    dirichlet = np.where(aliased, n * np.cos(np.pi * (n - 1) * difference),
                         np.sin(np.pi * n * difference) / np.where(aliased, 1.0, denominator))
    eigenvalues, vectors = np.linalg.eigh(dirichlet)
    v = vectors[:, eigenvalues > RANK_TOLERANCE**2 * eigenvalues[-1]]
    u = np.exp(TWO_PI * 1j * f * centre)[:, None] * v
    return u, v.T.astype(np.float32) @ phasors(positions - centre, f).T


class BandObjective:
    """The objective of one pattern: ``1 - |<Z, Y>|^2 / (|Z|^2 |Y|^2)`` over its grids, and its gradient in the box's
    shown phases (flattened, float32, as :func:`osclc.calibration.compiler.bounded_lbfgs.minimise` takes them).

    ``target``: the wanted mask on the box [rows, cols] (complex); ``grids``: the (row, column) frequencies of each
    readout grid; ``region``: the SLM around the box (:class:`Region`).
    """

    def __init__(self, target: np.ndarray, grids: list[tuple[np.ndarray, np.ndarray]], region: Region) -> None:
        self.region = region
        r0, c0 = region.origin[0] - region.rows.start, region.origin[1] - region.cols.start
        wanted = np.zeros((region.rows.stop - region.rows.start, region.cols.stop - region.cols.start), np.complex64)
        wanted[r0:r0 + region.h, c0:c0 + region.w] = target
        row_offsets, col_offsets = region.offsets
        rows = [_compressed(row_offsets, fr) for fr, _ in grids]
        cols = [_compressed(col_offsets, fc) for _, fc in grids]
        k_r, k_c = max(a.shape[0] for _, a in rows), max(a.shape[0] for _, a in cols)
        g = len(grids)
        self.ar = np.zeros((g, k_r, wanted.shape[0]), np.complex64)
        self.ac = np.zeros((g, wanted.shape[1], k_c), np.complex64)
        self.constant = np.zeros((g, k_r, k_c), np.complex64)
        outside = 0.0
        for i, ((u_r, a_r), (u_c, a_c), (fr, fc)) in enumerate(zip(rows, cols, grids)):
            self.ar[i, :a_r.shape[0]] = a_r
            self.ac[i, :, :a_c.shape[0]] = a_c.T
            held = region.surround(fr, fc).astype(np.complex128)
            reach = u_r.conj().T @ held @ u_c.conj()
            self.constant[i, :reach.shape[0], :reach.shape[1]] = reach
            outside += float(np.sum(np.abs(held) ** 2) - np.sum(np.abs(reach) ** 2))
        self.outside = max(outside, 0.0)
        """``|C_perp|^2``: the surround's light on the held points that no box pattern can reach."""
        self.z = (self.ar @ wanted) @ self.ac
        self.nz = float(np.sum(np.abs(self.z) ** 2, dtype=np.float64))
        # the modulated fraction (1 - z) goes with the row factor: the region's transmittance is read as exp(i phase)
        self.ar *= 1.0 - region.z0
        self.ar_stack = self.ar.reshape(-1, wanted.shape[0])
        self.ar_adjoint = np.ascontiguousarray(np.conj(np.swapaxes(self.ar, 1, 2)))
        self.ac_adjoint = np.ascontiguousarray(np.conj(np.swapaxes(self.ac, 1, 2)).reshape(-1, wanted.shape[1]))
        self.frame = region.gradient_frame()
        r = region.radius
        self.frame_region = self.frame[r:-r, r:-r][region.inner]

    def _terms(self, shown: np.ndarray) -> tuple[np.ndarray, np.ndarray, complex, float]:
        """``exp(i phase)`` on the region, the compressed held field ``W`` [grids, k_r, k_c] with the surround's,
        ``<Z, W>`` and ``|W|^2 + |C_perp|^2``."""
        t = cis(self.region.phase(shown.reshape(self.region.h, self.region.w)))
        g, k_r, _ = self.ar.shape
        y = (self.ar_stack @ t).reshape(g, k_r, -1) @ self.ac
        y += self.constant
        s = complex(np.sum(np.conj(self.z) * y, dtype=np.complex128))
        ny = float(np.sum(np.abs(y) ** 2, dtype=np.float64)) + self.outside
        return t, y, s, ny

    def loss(self, shown: np.ndarray) -> float:
        """The objective at the box's shown phases (rad, [rows, cols] or flattened)."""
        _, _, s, ny = self._terms(shown)
        return 1.0 - abs(s) ** 2 / (self.nz * ny)

    def loss_and_gradient(self, shown: np.ndarray) -> tuple[float, np.ndarray]:
        """The objective and its gradient (flattened, float32) at the box's shown phases (rad)."""
        t, y, s, ny = self._terms(shown)
        loss = 1.0 - abs(s) ** 2 / (self.nz * ny)
        # 2 d loss / d conj(W), back through the compressed read (adjoint) and T = (1 - z) exp(i phase):
        # d loss / d phase = 2 Im(conj(T) dL/dconj(T))
        a = np.complex64(-2.0 * s / (self.nz * ny))
        b = np.float32(2.0 * abs(s) ** 2 / (self.nz * ny**2))
        back = self.ar_adjoint @ (a * self.z + b * y)
        grad_t = np.swapaxes(back, 0, 1).reshape(back.shape[1], -1) @ self.ac_adjoint
        np.multiply(grad_t.imag, t.real, out=self.frame_region)
        self.frame_region -= grad_t.real * t.imag
        return loss, self.region.blur_adjoint(self.frame).reshape(-1)
