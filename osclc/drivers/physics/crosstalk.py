"""Pixel crosstalk of an LCoS SLM of any kernel shape: the fringing field between neighbouring electrodes blurs the
displayed phase with a 1-D kernel ``k`` applied along rows and along columns (separable).

``k(x)`` is the weight with which the phase of a pixel reaches the pixel ``x`` pixels further on (x integer), so the
blurred phase is the convolution ``(k ** phi)[i] = sum_x k(x) phi[i - x]``. Every shape is normalised (sum 1) and
parameterised by its RMS width ``width_px`` (pixels: the standard deviation of the continuous kernel), so one number
says how far the crosstalk reaches whatever its shape:

- ``gaussian``: ``exp(-x^2 / (2 w^2))``, sigma ``w`` (:func:`osclc.drivers.physics.slm_response.fringing_kernel`, the
  model the calibration fits; Persson et al., Opt. Express 20, 22334 (2012));
- ``exponential``: ``exp(-|x| / b)``, the same decay both ways, heavier tails than a Gaussian of the same width
  (``b = w / sqrt(2)``);
- ``asymmetric``: ``exp(-x / b+)`` for x >= 0 and ``exp(x / b-)`` for x < 0, ``b+- = b (1 +- a)`` with the asymmetry
  ``a`` in (-1, 1) (the liquid crystal's pretilt makes the fringing field reach further one way); its variance is
  ``b^2 (2 + 2 a^2)``, so ``b = w / sqrt(2 + 2 a^2)``, and its mean ``b+ - b- = 2 a b`` shifts the blurred pattern.

The Gaussian is truncated at 4 sigma (as calibrated); the exponential shapes where they fall below ``exp(-12)``
(6e-6) of their peak, which keeps their heavy tails (the variance they leave out is 0.1 %).
"""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

from osclc.drivers.physics.slm_response import blur_phase, fringing_kernel

CrosstalkShape = Literal["gaussian", "exponential", "asymmetric"]


def crosstalk_kernel(shape: CrosstalkShape, width_px: float, asymmetry: float = 0.0) -> np.ndarray:
    """The normalised 1-D crosstalk kernel ``k`` (float64, odd length, centre = offset 0) of ``shape`` with RMS width
    ``width_px`` (pixels, > 0) and, for ``asymmetric``, the asymmetry ``a`` (-1 < a < 1; see the module doc)."""
    if not width_px > 0:
        raise ValueError(f"crosstalk width {width_px} px: must be > 0 (0 means no crosstalk: skip the blur)")
    if shape == "gaussian":
        return fringing_kernel(width_px)
    if shape not in ("exponential", "asymmetric"):
        raise ValueError(f"crosstalk shape {shape!r}: use gaussian, exponential or asymmetric")
    a = asymmetry if shape == "asymmetric" else 0.0
    if not -1.0 < a < 1.0:
        raise ValueError(f"crosstalk asymmetry {a}: must lie in (-1, 1)")
    b = width_px / math.sqrt(2.0 + 2.0 * a * a)
    forward, backward = b * (1.0 + a), b * (1.0 - a)
    radius = max(1, math.ceil(12.0 * max(forward, backward)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.where(x >= 0, np.exp(-np.maximum(x, 0.0) / forward), np.exp(np.minimum(x, 0.0) / backward))
    return kernel / kernel.sum()


def crosstalk_blur(phase: np.ndarray, kernel: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """``phase`` [rows, cols] (rad) convolved with ``kernel`` (:func:`crosstalk_kernel`, same dtype) along both axes:
    ``out[i] = sum_x k(x) phase[i - x]`` (outside the SLM the edge phase continues; ``border`` an OpenCV border mode)."""
    return blur_phase(phase, np.ascontiguousarray(kernel[::-1]), border)
