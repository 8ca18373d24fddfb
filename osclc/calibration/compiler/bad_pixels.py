"""Reading around bad camera pixels: the readout taps on hot or dead pixels are dropped and the others reweighted."""

from __future__ import annotations

import numpy as np

from osclc.calibration.compiler.options import CompileError


def skip_bad_pixels(index: np.ndarray, weight: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Weights with the taps on bad camera pixels (hot, dead) zeroed and the others rescaled to the same sum.

    ``index`` / ``weight`` [..., taps]: flat camera pixel indices and weights; ``bad``: the camera's bad-pixel map.
    """
    good = ~bad.reshape(-1)[index]
    kept = np.where(good, weight, 0.0)
    total, left = weight.sum(axis=-1, keepdims=True), kept.sum(axis=-1, keepdims=True)
    if np.any(np.abs(left) < 1e-3):
        raise CompileError("a readout point has only bad camera pixels around it; move the camera or recalibrate")
    return kept * (total / left)
