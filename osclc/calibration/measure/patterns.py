"""SLM test patterns shared by the calibrations (phases in radians on the SLM's (row, col) pixel grid)."""

from __future__ import annotations

import numpy as np


def blaze(shape: tuple[int, int], frequency: np.ndarray) -> np.ndarray:
    """Linear phase ``2*pi * (f_row * row + f_col * col)`` (rad); ``frequency`` in cycles per SLM pixel.

    Shown on a phase SLM it deflects the far field by ``frequency`` (camera position ``G @ frequency``
    relative to the undeflected spot).
    """
    rows, cols = np.indices(shape, dtype=np.float64)
    return 2.0 * np.pi * (float(frequency[0]) * rows + float(frequency[1]) * cols)


def superpixel_index(shape: tuple[int, int], grid: int, box: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row and column index (0 .. grid-1) of the superpixel holding each SLM pixel: ``grid`` x ``grid`` tiles
    of ``box`` = (row0, row1, col0, col1) (default the whole SLM); -1 outside the box."""
    row0, row1, col0, col1 = box or (0, shape[0], 0, shape[1])
    rows, cols = np.indices(shape)
    inside = (rows >= row0) & (rows < row1) & (cols >= col0) & (cols < col1)
    return (np.where(inside, (rows - row0) * grid // (row1 - row0), -1),
            np.where(inside, (cols - col0) * grid // (col1 - col0), -1))


def used_box(shape: tuple[int, int], fourier_affine: np.ndarray, pad: int) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1): the SLM pixels a model on the ``pad`` grid can use (bins up to +-pad/2
    through ``fourier_affine``), clipped to the SLM."""
    corners = np.array([(a, b) for a in (-pad / 2, pad / 2) for b in (-pad / 2, pad / 2)])
    mapped = corners @ fourier_affine[:, :2].T + fourier_affine[:, 2]
    lo = np.clip(np.floor(mapped.min(axis=0)).astype(int), 0, None)
    hi = np.minimum(np.ceil(mapped.max(axis=0)).astype(int) + 1, shape)
    return int(lo[0]), int(hi[0]), int(lo[1]), int(hi[1])
