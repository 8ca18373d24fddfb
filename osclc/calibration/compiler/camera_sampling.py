"""Reading a camera image at fractional pixel positions: bicubic (Keys, a = -0.5) taps as index/weight tables.

A point ``(row, col)`` in camera pixel coordinates (pixel centres at integers) is the weighted sum of
the 4 x 4 pixels around it; the tables let a readout be one gather and one weighted sum per point.
"""

from __future__ import annotations

import numpy as np

KEYS_A = -0.5


def keys_weights(t: np.ndarray) -> np.ndarray:
    """Weights [..., 4] of the taps at offsets -1, 0, 1, 2 for fractional positions ``t`` in [0, 1)."""
    t = np.asarray(t, dtype=np.float64)[..., None]
    d = np.abs(np.array([-1.0, 0.0, 1.0, 2.0]) - t)
    a = KEYS_A
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def bicubic_taps(points: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Flat pixel indices and weights, both [..., 16], that interpolate an image of ``shape`` at ``points[..., 2]``.

    Raises ValueError when a point's 4 x 4 neighbourhood leaves the image.
    """
    points = np.asarray(points, dtype=np.float64)
    base = np.floor(points).astype(np.int64)
    frac = points - base
    rows = base[..., 0:1] + np.arange(-1, 3)
    cols = base[..., 1:2] + np.arange(-1, 3)
    if rows.min() < 0 or cols.min() < 0 or rows.max() >= shape[0] or cols.max() >= shape[1]:
        raise ValueError(
            f"readout points reach outside the {shape[0]}x{shape[1]} camera (rows {rows.min()}..{rows.max()}, "
            f"cols {cols.min()}..{cols.max()}); check camera.affine or move the readout windows"
        )
    index = rows[..., :, None] * shape[1] + cols[..., None, :]
    weight = keys_weights(frac[..., 0])[..., :, None] * keys_weights(frac[..., 1])[..., None, :]
    lead = points.shape[:-1]
    return index.reshape(*lead, 16), weight.reshape(*lead, 16)
