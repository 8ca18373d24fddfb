"""Pre-compensating the SLM's pixel crosstalk (fringing) in compiled masks.

An LCoS SLM does not show the phase it is sent: the fringing field between neighbouring electrodes
blurs the displayed phase, ``phi_shown = G_sigma * phi`` (the SLM model of
:mod:`osclc.drivers.physics.slm_response`, sigma measured by ``osclc calibrate fringing``; the
crosstalk model of Persson et al., Opt. Express 20, 22334 (2012) and Moser et al., Opt. Express 27,
25046 (2019)). A double-phase checkerboard suffers most: every edge between its two phases
``phi +- acos A`` is blurred towards ``phi``, so the programmed amplitude comes out wrong, every 2 pi wrap
becomes a ramp, and the dark background leaks light (on the simulated realistic bench, sigma 0.5 px,
this limited the camera features to correlation 0.63 on the worst channel).

What the camera reads of output channel o, for input pixel n, is the 4f's impulse response at the
difference ``e = x - n - o + shift`` (``kernel_resampling``: x a readout point) and, through its pixels and
the readout's interpolation, around it: ``R(T)(e) = sum_j T_j exp(2 pi i u_j . e / P)`` over *all* SLM pixels
j (``u_j`` their frequency bins). :func:`compensate` chooses the phases of the kernel window and a margin
around it (:func:`margin_px`) so that ``R`` of the modelled SLM, ``T = z exp(-i C) + (1 - z) exp(i (G * shown -
C))`` (unmodulated fraction z, wavefront correction C removed again by the cover glass, the fixed background
outside the window included), is proportional to ``R`` of the wanted mask on the held points (the design
points, :data:`READ_MARGIN_PX` beyond them, every :data:`READ_STEP_PX`). It maximises their normalised
correlation per pattern (its complex scale is free: the feature gain is fitted later) with L-BFGS-B from the
double-phase pattern, with the analytic gradient. ``R`` is evaluated per axis (the calibrated rotation enters
through each band's centre; its cross term over a band of ~20 image pixels moves the points by < 0.1 pixel at
the few mrad of a bench). The background is a checkerboard whose blurred mean cancels the unmodulated light
(:func:`dark_checkerboard`), so little light from outside the window reaches the readouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from scipy import optimize

from osclc.drivers.physics.slm_response import blur_phase, fringing_kernel, mean_transmittance

TWO_PI = 2.0 * np.pi
MAX_ITERATIONS = 100
"""L-BFGS iterations per compile."""


def margin_px(sigma_px: float) -> int:
    """SLM pixels around the kernel window that the compensation may change: twice the blur radius (0 without
    crosstalk), so the unmodulated light and the blurred surround next to the window can be balanced too."""
    return 2 * ((fringing_kernel(sigma_px).size - 1) // 2) if sigma_px > 0 else 0


def dark_checkerboard(block: int, sigma_px: float, zero_order: float, phase_range: tuple[float, float]) -> tuple[float, float]:
    """The two phases (rad) of a ``block`` x ``block`` checkerboard that sends no light into the zero order.

    Symmetric about ``lo + pi`` (opposite to the unmodulated light, in phase with gray level 0) with the half
    difference ``d`` at which the blurred pattern's mean modulated field ``m(d)`` (:func:`mean_transmittance`)
    equals ``z / (1 - z)``: then ``z + (1 - z) exp(i pi) m(d) = 0``. Without crosstalk or zero order that is the
    +-pi/2 checkerboard. Where no ``d <= pi`` reaches it (single-pixel squares under strong crosstalk), the
    ``d`` nearest to it.
    """
    lo = float(phase_range[0])
    target = zero_order / (1.0 - zero_order)
    half = np.linspace(0.0, np.pi, 721)
    mean = mean_transmittance(np.full(half.size, block), np.stack([half, -half], axis=1), sigma_px, 0.0).real
    crossing = np.flatnonzero(np.diff(np.sign(mean - target)))
    if crossing.size:
        i = int(crossing[0])
        d = float(optimize.brentq(lambda x: np.interp(x, half[i:i + 2], mean[i:i + 2] - target), half[i], half[i + 1]))
    else:
        d = float(half[np.argmin(np.abs(mean - target))])
    return lo + np.pi - d, lo + np.pi + d


@dataclass(frozen=True)
class Band:
    """Where one pattern's light is read: frequencies (cycles per SLM pixel of the box) per axis.

    ``rows[g]`` / ``cols[g]`` are the row and column frequencies of grid g (each a 1-D array); the
    pattern's readout points are the union of the grids' outer products.
    """

    rows: list[np.ndarray]
    cols: list[np.ndarray]


READ_MARGIN_PX = 2.0
"""Image pixels beyond the design points on each side where the band is held too: the camera's pixels and the
readout's interpolation see the field around each readout point, not only at it."""
READ_STEP_PX = 0.5
"""Spacing (image pixels) of the held points: the field between the design points counts as well."""


def read_points(d: np.ndarray) -> np.ndarray:
    """Where the field is held (image pixels, one axis): ``min(d) - margin`` to ``max(d) + margin`` every half pixel,
    for the mask design points ``d`` (``kernel_resampling.differences``)."""
    d = np.asarray(d, dtype=np.float64)
    return np.arange(d.min() - READ_MARGIN_PX, d.max() + READ_MARGIN_PX + READ_STEP_PX / 2, READ_STEP_PX)


def band_frequencies(to_bins: np.ndarray, e_rows: np.ndarray, e_cols: np.ndarray, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column frequencies (cycles per SLM pixel) of the readout points ``e_rows x e_cols`` (image pixels).

    ``to_bins`` (2x3) maps SLM pixel (row, col) to bins of the ``pad`` grid; ``exp(2 pi i u . e / P)`` with
    ``u = B p + b`` has the pixel frequency ``B^T e / P``; the cross terms are taken at the band's centre.
    """
    b = np.asarray(to_bins, dtype=np.float64)
    e_rows, e_cols = np.asarray(e_rows, dtype=np.float64), np.asarray(e_cols, dtype=np.float64)
    centre_r, centre_c = float(np.mean(e_rows)), float(np.mean(e_cols))
    rows = (b[0, 0] * e_rows + b[1, 0] * centre_c) / pad
    cols = (b[0, 1] * centre_r + b[1, 1] * e_cols) / pad
    return rows, cols


class _Problem:
    """The batched objective over n patterns whose box [H, W] varies and whose surround is fixed.

    The SLM is modelled whole: its transmittance ``z exp(-i C) + (1 - z) exp(i (G * shown - C))``; the
    *region* is the box plus the blur radius r around it (where the blurred phase depends on the box), and
    every pixel outside it contributes a constant to each readout grid (computed once). Single precision:
    the fit needs ~1e-6, not more. Grid g belongs to pattern ``owner[g]``; ``R`` on it is ``E_r[g]^T T E_c[g]``.
    """

    def __init__(self, targets: np.ndarray, bands: list[Band], background: np.ndarray, correction: np.ndarray,
                 box: tuple[int, int, int, int], sigma_px: float, zero_order: float) -> None:
        self.n, self.h, self.w = targets.shape
        self.kernel = fringing_kernel(sigma_px).astype(np.float32)
        r = self.radius = (self.kernel.size - 1) // 2
        r0, c0 = box[0], box[1]
        self.z0 = float(zero_order)
        # shown phases with 2r of surround on every side (edge-padded at the SLM's border): the work frame
        shown = np.pad(np.asarray(background, np.float32), 2 * r, mode="edge")
        self.work = np.broadcast_to(shown[r0:r0 + self.h + 4 * r, c0:c0 + self.w + 4 * r], (self.n, self.h + 4 * r, self.w + 4 * r)).copy()
        corr = np.pad(np.asarray(correction, np.float32), r, mode="edge")
        self.correction = corr[r0:r0 + self.h + 2 * r, c0:c0 + self.w + 2 * r]
        owner = [p for p, band in enumerate(bands) for _ in band.rows]
        rows = [fr for band in bands for fr in band.rows]
        cols = [fc for band in bands for fc in band.cols]
        # frequencies act on pixel offsets from the box's first pixel; SLM rows / cols then start at -r0 / -c0
        slm_rows, slm_cols = np.arange(background.shape[0]) - r0, np.arange(background.shape[1]) - c0
        er_full = np.zeros((len(owner), slm_rows.size, max(f.size for f in rows)), np.complex64)
        ec_full = np.zeros((len(owner), slm_cols.size, max(f.size for f in cols)), np.complex64)
        for g, (fr, fc) in enumerate(zip(rows, cols)):
            er_full[g, :, :fr.size] = np.exp(TWO_PI * 1j * np.outer(slm_rows, fr))
            ec_full[g, :, :fc.size] = np.exp(TWO_PI * 1j * np.outer(slm_cols, fc))
        region = (slice(max(r0 - r, 0), r0 + self.h + r), slice(max(c0 - r, 0), c0 + self.w + r))
        self.er_t = np.ascontiguousarray(np.swapaxes(er_full[:, region[0]], 1, 2))
        self.ec = np.ascontiguousarray(ec_full[:, region[1]])
        self.er_conj = np.conj(np.swapaxes(self.er_t, 1, 2))
        self.ec_adjoint = np.ascontiguousarray(np.conj(np.swapaxes(self.ec, 1, 2)))
        self.owner = np.asarray(owner)
        self.single = bool(np.array_equal(self.owner, np.arange(self.n)))
        self.starts = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])
        # the region's rows / cols inside the work frame (the region is clipped at the SLM's border)
        self.inner = (slice(region[0].start - (r0 - r), region[0].stop - (r0 - r)),
                      slice(region[1].start - (c0 - r), region[1].stop - (c0 - r)))
        outside = (1.0 - self.z0) * np.exp(1j * (self._blur(shown[None], cv2.BORDER_CONSTANT)[0][2 * r:-2 * r, 2 * r:-2 * r] - correction))
        outside[region] = 0.0
        outside += self.z0 * np.exp(-1j * np.asarray(correction))
        self.constant = (np.swapaxes(er_full, 1, 2) @ outside.astype(np.complex64)) @ ec_full
        padded = np.zeros((self.n, self.h + 2 * r, self.w + 2 * r), np.complex64)
        padded[:, r:r + self.h, r:r + self.w] = targets
        self.z = self._read(padded[:, self.inner[0], self.inner[1]], constant=False)
        self.nz = self._per_pattern(np.sum(np.abs(self.z) ** 2, axis=(1, 2), dtype=np.float64))

    def _read(self, t: np.ndarray, constant: bool = True) -> np.ndarray:
        """``R`` of the region's transmittances ``t`` [n, ...] on every grid [G, a, b] (plus the surround's)."""
        y = self.er_t @ (t if self.single else t[self.owner]) @ self.ec
        return y + self.constant if constant else y

    def _per_pattern(self, values: np.ndarray) -> np.ndarray:
        return values if self.single else np.add.reduceat(values, self.starts, axis=0)

    def _blur(self, images: np.ndarray, border: int) -> np.ndarray:
        out = np.empty_like(images)
        for p in range(images.shape[0]):
            out[p] = blur_phase(images[p], self.kernel, border)
        return out

    def region_phase(self, box: np.ndarray) -> np.ndarray:
        """The phase of the model transmittance on the region [n, ...]: the shown phases blurred, minus the correction."""
        r = self.radius
        self.work[:, 2 * r:2 * r + self.h, 2 * r:2 * r + self.w] = box
        blurred = self._blur(self.work, cv2.BORDER_REPLICATE)[:, r:-r, r:-r] - self.correction
        return blurred[:, self.inner[0], self.inner[1]]

    def loss_and_gradient(self, flat: np.ndarray) -> tuple[float, np.ndarray]:
        """Sum over patterns of ``1 - |<Z, Y>|^2 / (|Z|^2 |Y|^2)`` and its gradient in the box's shown phases."""
        phase = self.region_phase(flat.reshape(self.n, self.h, self.w))
        t = np.empty(phase.shape, np.complex64)
        np.cos(phase, out=t.real)
        np.sin(phase, out=t.imag)
        t *= 1.0 - self.z0
        y = self._read(t)
        s = self._per_pattern(np.sum(np.conj(self.z) * y, axis=(1, 2), dtype=np.complex128))
        ny = self._per_pattern(np.sum(np.abs(y) ** 2, axis=(1, 2), dtype=np.float64))
        loss = float(np.sum(1.0 - np.abs(s) ** 2 / (self.nz * ny)))
        # d loss / d conj(Y) per grid, back through R (adjoint: conj(E_r) G E_c^H) and T = (1 - z) exp(i phase)
        sg, nyg, nzg = s[self.owner], ny[self.owner], self.nz[self.owner]
        a = (-sg / (nzg * nyg)).astype(np.complex64)[:, None, None]
        b = (np.abs(sg) ** 2 / (nzg * nyg**2)).astype(np.float32)[:, None, None]
        per_grid = self.er_conj @ (a * self.z + b * y) @ self.ec_adjoint
        grad_t = per_grid if self.single else np.add.reduceat(per_grid, self.starts, axis=0)
        grad_region = 2.0 * (grad_t.imag * t.real - grad_t.real * t.imag)
        # back through the blur (symmetric: its adjoint is the same blur, zero outside the region)
        r = self.radius
        grad = np.zeros(self.work.shape, np.float32)
        grad[:, r:-r, r:-r][:, self.inner[0], self.inner[1]] = grad_region
        grad = self._blur(grad, cv2.BORDER_CONSTANT)[:, 2 * r:2 * r + self.h, 2 * r:2 * r + self.w]
        return loss, grad.reshape(-1).astype(np.float64)


def background_leak(background: np.ndarray, correction: np.ndarray, bands: list[Band], box: tuple[int, int, int, int],
                    sigma_px: float, zero_order: float) -> float:
    """How much field the fixed surround (``background`` shown outside the window and margin ``box``, with the
    unmodulated light) sends onto the held points of ``bands``: the norm of its ``R`` (lower is better; the
    compensation can only partly cancel it, since the window is smaller than the points' resolution needs)."""
    empty = np.zeros((len(bands), box[2], box[3]), np.complex64)
    return float(np.linalg.norm(_Problem(empty, bands, background, correction, box, sigma_px, zero_order).constant))


def compensate(
    phases: np.ndarray, targets: np.ndarray, bands: list[Band], background: np.ndarray, correction: np.ndarray,
    box: tuple[int, int, int, int], sigma_px: float, zero_order: float, phase_range: tuple[float, float],
    iterations: int = MAX_ITERATIONS,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The phases to display in the box [n, H, W] (radians, correction included, within ``phase_range``) whose
    blurred display, with the rest of the SLM, reproduces ``targets`` in each pattern's readout band.

    - ``phases``: the starting patterns (the double-phase encoding of ``targets``), without the correction;
    - ``targets``: the wanted complex masks [n, H, W] on the box's pixels;
    - ``bands``: per pattern, where its light is read (:class:`Band`, frequencies on box pixel offsets);
    - ``background``: the phase the SLM shows around the box (whole SLM, rad: the LUT's phases of the
      background gray levels); ``correction``: the wavefront correction (whole SLM, rad);
    - ``box``: (row0, col0, rows, cols) on the SLM; ``sigma_px``, ``zero_order``: the measured crosstalk and
      unmodulated field fraction; ``phase_range``: the lowest and highest phase the SLM shows (the LUT's ends).

    Each pixel's 2 pi turn is chosen once (the wrap makes the objective discontinuous): ``theta + C`` is shown
    in a 2 pi interval centred in ``phase_range``, and the optimisation (L-BFGS-B, analytic gradient) keeps
    every pixel inside ``phase_range``, so an SLM whose LUT spans more than 2 pi (most do) gives each pixel
    that much room without re-wrapping. Returns the phases and the band correlation ``|<Z, Y>| / (|Z| |Y|)``
    (mean over patterns) before and after.
    """
    lo, hi = float(phase_range[0]), float(phase_range[1])
    r0, c0, rows, cols = box
    problem = _Problem(np.asarray(targets, dtype=np.complex128), bands, background, correction, box, sigma_px, zero_order)
    start = np.asarray(phases, dtype=np.float64) + correction[r0:r0 + rows, c0:c0 + cols]
    origin = lo + max(0.0, (hi - lo - TWO_PI) / 2)
    shown = origin + np.mod(start - origin, TWO_PI)
    before, _ = problem.loss_and_gradient(shown.reshape(-1))
    result = optimize.minimize(problem.loss_and_gradient, shown.reshape(-1), jac=True, method="L-BFGS-B",
                               bounds=optimize.Bounds(lo, max(hi, origin + TWO_PI)),
                               options={"maxiter": int(iterations), "gtol": 0.0, "ftol": 0.0})
    n = problem.n
    fit = {"correlation_before": float(np.sqrt(max(0.0, 1 - before / n))),
           "correlation_after": float(np.sqrt(max(0.0, 1 - float(result.fun) / n))), "iterations": int(result.nit)}
    return result.x.reshape(shown.shape), fit
