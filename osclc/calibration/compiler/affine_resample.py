"""Cubic B-spline interpolation of a smooth complex array at the pixels of an affine map, in two 1-D passes.

The mask on a rotated SLM (:func:`osclc.calibration.compiler.kernel_resampling.mask_on_pixels`) is a smooth array
on a regular bin grid read at every pixel of an affine map ``u = A p + b``. ``scipy.ndimage.map_coordinates``
does that with 16 taps per pixel from precomputed coordinate arrays, once for the real and once for the imaginary
part (45 ms for a 534 x 534 window, more than the rest of a compile). An affine map splits into two shears
(Catmull and Smith, SIGGRAPH 1980): first each grid row is read along its columns where the map meets it,
then each pixel column along the grid's rows, so each pixel costs 2 x 4 taps in single precision.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _interpolate(coefficients: np.ndarray, position: np.ndarray, axis: int) -> np.ndarray:
    """The cubic B-spline with ``coefficients`` [rows, cols] (along ``axis``) at the fractional indices ``position``
    (along ``axis``; one value per element of the other axis, which the output keeps), clamped at the ends."""
    base = np.floor(position)
    t = (position - base).astype(np.float32)
    t2 = t * t
    t3 = t2 * t
    u = np.float32(1.0) - t
    weights = (u * u * u, 3 * t3 - 6 * t2 + 4, -3 * t3 + 3 * t2 + 3 * t + 1, t3)
    size = coefficients.shape[axis]
    start = base.astype(np.intp) - 1
    other = np.arange(position.shape[1 - axis])
    flat = coefficients.ravel()
    out = np.zeros(position.shape, np.complex64)
    for k, weight in enumerate(weights):
        index = np.clip(start + k, 0, size - 1)
        index = index * coefficients.shape[1] + other if axis == 0 else index + (other * coefficients.shape[1])[:, None]
        out += weight * flat[index]
    out *= np.float32(1 / 6)
    return out


def resample_affine(values: np.ndarray, origin: tuple[float, float], step: float, to_grid: np.ndarray,
                    rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``values`` (complex, sampled at ``origin + step * (i, j)``) interpolated by cubic B-splines at
    ``u = A (r, c) + b`` for the pixels ``rows x cols`` (complex64); ``to_grid`` is ``[A | b]`` (2x3, in the units
    of ``origin`` and ``step``; ``A[0, 0]`` nonzero). Beyond the grid the edge values continue."""
    a = np.asarray(to_grid, np.float64)
    rows, cols = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
    values = np.asarray(values, np.complex64)
    # pass 1: along each grid row i, at the column where the map's pixel column c meets that row (u_row = row i)
    grid_rows = origin[0] + step * np.arange(values.shape[0])
    meets = (grid_rows[:, None] - a[0, 1] * cols[None, :] - a[0, 2]) / a[0, 0]
    along = (a[1, 0] * meets + a[1, 1] * cols[None, :] + a[1, 2] - origin[1]) / step
    by_row = _interpolate(ndimage.spline_filter1d(values, 3, axis=1, output=np.complex64, mode="nearest"), along, axis=1)
    # pass 2: down each pixel column c, at the grid row of each pixel
    down = (a[0, 0] * rows[:, None] + a[0, 1] * cols[None, :] + a[0, 2] - origin[0]) / step
    return _interpolate(ndimage.spline_filter1d(by_row, 3, axis=0, output=np.complex64, mode="nearest"), down, axis=0)
