"""A folded kernel on the model's frequency grid -> the Fourier-plane mask, as a function of fractional bins.

The folded student (``osclc.models.layers.spectral_grid`` conventions) multiplies the centred spectrum of the
input, zero-padded to the P x P window (input at window offset ``o = (P - N) // 2``; bin f = ``f / P``
cycles per input pixel), by ``K[f]`` on an h x w window and reads the field at window coordinates
``x = (m P / h, n P / w)``. Per output sample that is a *circular* convolution with the P-periodic kernel
``k(d) = sum_f K[f] exp(2 pi i f . d / P)``: ``y(x) = sum_n a[n] k(x - n - o)``.

The optics convolves *linearly* with ``m``, the inverse transform of the mask ``M`` (zero outside the
window: an aperture), so ``b(x) = sum_n a[n] m(x - n - o)``. The camera only reads ``b`` at the readout
points, so ``b = y`` there for every input exactly when ``m(e) = k(e)`` on the finite set ``D`` of
differences ``e = x - n - o`` (x a readout point, n an input pixel). The mask is built as

    M(u) = sum_{d in D} w[d] exp(-2 pi i u . d / P)   (u: fractional bins inside the aperture)

whose transform is ``m(z) = sum_d w[d] S(z - d)`` with ``S(z) = integral over the aperture of
exp(2 pi i u z / P) du`` (closed form, separable). ``w`` solves ``S_row w S_col^T = k`` on ``D`` by
Tikhonov-regularised inversion (``S`` is a band-limited Gram matrix: ill-conditioned), per axis.
This reproduces the wrap-around of the digital model inside the readout points, which a plain
interpolation of K cannot (tested against plain NumPy FFT optics).

:func:`readout_start` places each channel's P-wide readout interval on the energy centre of its
linear output (:func:`kernel_centre`), so the points read are where the light is.
"""

from __future__ import annotations

import functools

import numpy as np

from osclc.calibration.protocols import FoldedOperator

REGULARISATION = 1e-3
"""Tikhonov weight, relative to the largest squared singular value of each axis' Gram matrix."""


class KernelError(ValueError):
    """A folded kernel that cannot be compiled (NaN, wrong shape); the message names it and the fix."""


def check_kernel(kernel: np.ndarray, name: str = "K_eff") -> np.ndarray:
    """``kernel`` [c_in, c_out, h, w] as complex128, or :class:`KernelError` (dimensions, NaN, all zero)."""
    kernel = np.asarray(kernel)
    if kernel.ndim != 4 or min(kernel.shape) < 1:
        raise KernelError(f"{name}: expected a complex array [c_in, c_out, h, w], got shape {kernel.shape}")
    kernel = kernel.astype(np.complex128)
    if not np.all(np.isfinite(kernel)):
        raise KernelError(f"{name}: contains NaN or infinity; retrain or re-fold the student")
    if not np.any(kernel):
        raise KernelError(f"{name}: is zero everywhere; the student has no optical frontend to compile")
    return kernel


def folded_kernel(folded: FoldedOperator) -> np.ndarray:
    """The kernel of ``folded`` as a checked complex128 array [c_in, c_out, h, w] (:func:`check_kernel`)."""
    kernel = folded.kernel
    return check_kernel(kernel if isinstance(kernel, np.ndarray) else kernel.detach().cpu().numpy())


def frequencies(size: int) -> np.ndarray:
    """Integer frequencies of a centred grid of ``size`` bins: ``arange(size) - size // 2``."""
    return np.arange(size) - size // 2


def kernel_centre(kernel: np.ndarray, pad: int) -> tuple[float, float]:
    """Energy centre (row, col) in input pixels, in (-P/2, P/2], of the P-periodic spatial kernel(s).

    ``kernel`` [..., h, w] centred spectra; leading dims are pooled (one centre for all of them).
    """
    kernel = np.asarray(kernel, dtype=np.complex128)
    rows, cols = kernel.shape[-2:]
    spatial = np.fft.ifft2(np.fft.ifftshift(kernel, axes=(-2, -1)), axes=(-2, -1))
    energy = (np.abs(spatial) ** 2).reshape(-1, rows, cols).sum(axis=0)
    centre = []
    for axis, size in ((1, rows), (0, cols)):
        profile = energy.sum(axis=axis)
        mean = np.sum(profile * np.exp(2j * np.pi * np.arange(size) / size))
        centre.append(float(np.angle(mean)) * pad / (2 * np.pi) if abs(mean) > 0 else 0.0)
    return centre[0], centre[1]


def aperture_bounds(size: int) -> tuple[float, float]:
    """Fractional-bin interval ``[lo, hi)`` of a centred window of ``size`` bins (half a bin beyond its edges)."""
    return -(size // 2) - 0.5, size - size // 2 - 0.5


def readout_start(centre: float, input_size: int, pad: int) -> float:
    """Start (window coordinates, input pixels) of the P-wide interval holding the linear output.

    The input covers ``[o, o + N)`` with ``o = (P - N) // 2``; with a kernel centred on ``c`` the output is
    centred on ``c + o + (N - 1) / 2``; the interval starts half a period before that.
    """
    offset = (pad - input_size) // 2
    return centre + offset + (input_size - 1) / 2.0 - pad / 2.0


def readout_positions(start: float, size: int, pad: int) -> np.ndarray:
    """The digital grid's window coordinates ``m P / size`` (m < size) moved by periods P into ``[start, start + P)``."""
    grid = np.arange(size) * (pad / size)
    return start + np.mod(grid - start, pad)


def differences(positions: np.ndarray, input_size: int, pad: int) -> np.ndarray:
    """Sorted distinct ``x - n - o`` (input pixels) for readout positions ``x`` and input pixels n < N, along one axis."""
    offset = (pad - input_size) // 2
    values = np.subtract.outer(np.asarray(positions, dtype=np.float64), np.arange(input_size) + offset).reshape(-1)
    return np.unique(np.round(values, 9))


def aperture_gram(d: np.ndarray, size: int, pad: int) -> np.ndarray:
    """``S(d_i - d_j)`` with ``S(z) = integral_lo^hi exp(2 pi i u z / P) du`` over the aperture of ``size`` bins."""
    lo, hi = aperture_bounds(size)
    z = np.subtract.outer(d, d)
    return (hi - lo) * np.exp(1j * np.pi * (lo + hi) * z / pad) * np.sinc((hi - lo) * z / pad)


def gram_inverse(d: np.ndarray, size: int, pad: int, regularisation: float) -> np.ndarray:
    """Tikhonov inverse of :func:`aperture_gram` (``V diag(l / (l^2 + r l_max^2)) V^H``), cached per arguments.

    ``S = E R E^H`` with ``E = diag(exp(i pi (lo + hi) d / P))`` and ``R`` the real symmetric sinc matrix,
    so only ``R`` is decomposed.
    """
    d = np.asarray(d, dtype=np.float64)
    return _gram_inverse(d.tobytes(), size, pad, float(regularisation)).copy()


@functools.lru_cache(maxsize=64)
def _gram_inverse(d_bytes: bytes, size: int, pad: int, regularisation: float) -> np.ndarray:
    d = np.frombuffer(d_bytes, dtype=np.float64)
    lo, hi = aperture_bounds(size)
    real = (hi - lo) * np.sinc((hi - lo) * np.subtract.outer(d, d) / pad)
    eigen, vectors = np.linalg.eigh(real)
    eigen = np.clip(eigen, 0.0, None)
    inverse = (vectors * (eigen / (eigen**2 + regularisation * eigen.max() ** 2))) @ vectors.T
    phase = np.exp(1j * np.pi * (lo + hi) * d / pad)
    return phase[:, None] * inverse * phase.conj()[None, :]


def mask_weights(
    kernel: np.ndarray, d_row: np.ndarray, d_col: np.ndarray, pad: int, regularisation: float = REGULARISATION,
) -> np.ndarray:
    """Weights ``w`` [len(d_row), len(d_col)] of the mask of one centred kernel ``[h, w]`` (module docstring)."""
    kernel = np.asarray(kernel, dtype=np.complex128)
    rows, cols = kernel.shape
    target = np.exp(2j * np.pi * np.outer(d_row, frequencies(rows)) / pad) @ kernel @ np.exp(
        2j * np.pi * np.outer(d_col, frequencies(cols)) / pad).T
    inv_row = gram_inverse(d_row, rows, pad, regularisation)
    inv_col = gram_inverse(d_col, cols, pad, regularisation)
    return inv_row @ target @ inv_col.T


def mask_values(
    weights: np.ndarray, d_row: np.ndarray, d_col: np.ndarray, bins: np.ndarray, size: tuple[int, int], pad: int,
) -> np.ndarray:
    """``M(u) = sum_d w[d] exp(-2 pi i u . d / P)`` at fractional bins ``bins[..., 2]``; zero outside the aperture."""
    bins = np.asarray(bins, dtype=np.float64)
    flat = bins.reshape(-1, 2)
    e_row = np.exp(-2j * np.pi * np.outer(flat[:, 0], d_row) / pad)
    e_col = np.exp(-2j * np.pi * np.outer(flat[:, 1], d_col) / pad)
    values = np.einsum("nj,nj->n", e_row @ weights, e_col)
    lo_r, hi_r = aperture_bounds(size[0])
    lo_c, hi_c = aperture_bounds(size[1])
    outside = (flat[:, 0] < lo_r) | (flat[:, 0] >= hi_r) | (flat[:, 1] < lo_c) | (flat[:, 1] >= hi_c)
    values[outside] = 0.0
    return values.reshape(bins.shape[:-1])


def mask_on_pixels(
    weights: np.ndarray, d_row: np.ndarray, d_col: np.ndarray, to_bins: np.ndarray, rows: np.ndarray, cols: np.ndarray,
    size: tuple[int, int], pad: int, shift: np.ndarray,
) -> np.ndarray:
    """:func:`mask_values` times ``exp(-2 pi i u . shift / P)`` on the pixel grid ``rows x cols`` (fast).

    ``to_bins`` (2x3) maps pixel (row, col) to fractional bins. The mask is split into a linear phase
    (the centres ``d0`` of ``d_row`` / ``d_col`` plus ``shift``: exact, one factor per row and per column)
    times a slowly varying part, evaluated by two small matrix products on a regular bin grid and, when the
    map rotates, interpolated bicubically to the pixels (it varies over several pixels; the error is
    below 1e-3 of the peak for >= 4 pixels per bin). Without rotation the row / column factors and the
    aperture (rows and columns outside it) are folded into the two factor matrices, so the result is one
    matrix product with no full-size pass.
    """
    b = np.asarray(to_bins, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.float64)
    cols = np.asarray(cols, dtype=np.float64)
    d_row = np.asarray(d_row, dtype=np.float64)
    d_col = np.asarray(d_col, dtype=np.float64)
    d0 = np.array([np.mean(d_row), np.mean(d_col)])
    k = -2j * np.pi / pad
    move = np.asarray(shift, dtype=np.float64) + d0
    row_phase = np.exp(k * ((b[0, 0] * move[0] + b[1, 0] * move[1]) * rows + (b[0, 2] * move[0] + b[1, 2] * move[1])))
    col_phase = np.exp(k * (b[0, 1] * move[0] + b[1, 1] * move[1]) * cols)
    lo_r, hi_r = aperture_bounds(size[0])
    lo_c, hi_c = aperture_bounds(size[1])
    if abs(b[0, 1]) <= 1e-12 and abs(b[1, 0]) <= 1e-12:
        grid_r, grid_c = b[0, 0] * rows + b[0, 2], b[1, 1] * cols + b[1, 2]
        row_factor = np.exp(k * np.outer(grid_r, d_row - d0[0])) * (row_phase * ((grid_r >= lo_r) & (grid_r < hi_r)))[:, None]
        col_factor = np.exp(k * np.outer(grid_c, d_col - d0[1])) * (col_phase * ((grid_c >= lo_c) & (grid_c < hi_c)))[:, None]
        return (row_factor @ weights) @ col_factor.T
    from osclc.calibration.compiler.affine_resample import resample_affine

    step = min(abs(b[0, 0]), abs(b[1, 1]))
    grid_r = np.arange(lo_r - 3 * step, hi_r + 3 * step, step)
    grid_c = np.arange(lo_c - 3 * step, hi_c + 3 * step, step)
    slow = np.exp(k * np.outer(grid_r, d_row - d0[0])) @ weights @ np.exp(k * np.outer(grid_c, d_col - d0[1])).T
    u_row = b[0, 0] * rows[:, None] + b[0, 1] * cols[None, :] + b[0, 2]
    u_col = b[1, 0] * rows[:, None] + b[1, 1] * cols[None, :] + b[1, 2]
    values = resample_affine(slow, (grid_r[0], grid_c[0]), step, b, rows, cols).astype(np.complex128)
    values *= row_phase[:, None]
    values *= col_phase[None, :]
    values[(u_row < lo_r) | (u_row >= hi_r) | (u_col < lo_c) | (u_col >= hi_c)] = 0.0
    return values
