"""SLM phase response (gray level -> phase) by two binary-grating scans and an ellipse fit.

Why not slmsuite's LUT calibration: slmsuite measures the phase response with ``pixel_calibrate``,
which scans every pair of gray levels (4096 captures for 64 levels, ~15 s on its own simulator);
the demo's calibration budget is a few hundred captures in all. This method needs two scans of
``levels / stride`` captures.

Method (impulse mode: a small spot on the input lights the SLM around the optical axis, and the
camera sees the SLM's far field). The SLM shows a binary grating (stripes of ``period_px``
pixels) alternating a reference gray level ``r`` and the level ``g`` under test. The power in the
two first orders is ``f = A (1 - cos(phi(g) - phi(r))) + B`` (not divided by the frame's total:
with an unmodulated fraction ``z`` the SLM's transmitted power itself depends on the phase). A scan
against ``r = 0`` and a second one against a level ``r2`` about a quarter turn up (found in the
first scan) give, as ``g`` varies, the point
``(f1, f2)`` running round an ellipse (Lissajous figure); fitting the ellipse yields the phase
angle of each point whatever ``A``, ``B``, the zero-order fraction or the exact quarter turn are
(Heydemann's correction of quadrature signals). The angle, unwrapped and oriented so it rises with
``g``, is the LUT relative to level 0; levels between the scanned ones are interpolated (PCHIP).
Stripes ``period_px / 2`` pixels wide keep the error from fringing (the blur between neighbouring
pixels) small: it acts only near the stripe edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from osclc.calibration.measure import fitting
from osclc.calibration.measure.probe import BenchProbe


@dataclass
class LutResult:
    """Measured LUT (radians, every gray level), the scanned levels, both scans (first-order power, counts) and
    the second reference level."""

    phase_rad: np.ndarray
    levels: np.ndarray
    scan_ref0: np.ndarray
    scan_ref2: np.ndarray
    ref2: int


def grating(shape: tuple[int, int], period_px: int, level_a: int, level_b: int) -> np.ndarray:
    """Vertical binary stripes: columns alternate ``level_a`` and ``level_b`` every ``period_px // 2`` pixels."""
    cols = np.arange(shape[1])
    row = np.where((cols // (period_px // 2)) % 2 == 0, level_a, level_b)
    return np.broadcast_to(row, shape).astype(np.int64)


def fit_ellipse_phase(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Angle (radians, unwrapped, starting at 0, rising) of points ``(x, y)`` on a fitted ellipse
    ``x = x0 + ax cos t``, ``y = y0 + ay cos(t - alpha)``."""
    scale_x, scale_y = np.std(x), np.std(y)
    if scale_x <= 0 or scale_y <= 0:
        raise fitting.FitError("the LUT scans show no modulation; check the laser, exposure and SLM")
    u, v = x / scale_x, y / scale_y
    design = np.stack([u**2, u * v, v**2, u, v], axis=1)
    a, b, c, d, e = np.linalg.lstsq(design, np.ones_like(u), rcond=None)[0]
    u0, v0 = np.linalg.solve(np.array([[2 * a, b], [b, 2 * c]]), [-d, -e])
    k = 1.0 + a * u0**2 + b * u0 * v0 + c * v0**2
    if b * b >= 4 * a * c or k / a <= 0:
        raise fitting.FitError("the LUT scans do not trace an ellipse; the phase range may be far below 2*pi")
    cos_alpha = -b / (2.0 * np.sign(a) * np.sqrt(a * c))  # the conic is scaled by an unknown sign
    sin_alpha = np.sqrt(1.0 - cos_alpha**2)
    px, py = (u - u0) / (np.sqrt(k / a) / sin_alpha), (v - v0) / (np.sqrt(k / c) / sin_alpha)
    angle = np.unwrap(np.arctan2((py - px * cos_alpha) / sin_alpha, px))
    angle -= angle[0]
    return angle if angle[-1] >= 0 else -angle


def _order_windows(probe: BenchProbe, period_px: int, average: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Zero-order position, first-order offset (camera pixels) and the window radius, found on four frames:
    the flat SLM, and gratings against three levels; the first order is the brightest gain over the flat frame."""
    probe.show(gray=probe.flat_gray())
    flat = probe.frame(average)
    zero = fitting.refine_centroid(flat, fitting.peak(flat), 2.0)
    levels = probe.bench.slm.levels
    gains = []
    for level in (levels // 4, levels // 2, 3 * levels // 4):
        probe.show(gray=grating(probe.slm_shape, period_px, 0, level))
        gains.append(probe.frame(average) - flat)
    gain = max(gains, key=lambda image: float(np.clip(image, 0, None).sum()))
    first = fitting.peak(gain)
    radius = 0.45 * float(np.hypot(*(first - zero)))
    first = fitting.refine_centroid(np.clip(gain, 0, None), first, radius)
    return zero, first - zero, 0.45 * float(np.hypot(*(first - zero)))


def _scan(probe: BenchProbe, levels: np.ndarray, reference: int, period_px: int, windows: tuple, average: int) -> np.ndarray:
    zero, offset, radius = windows
    rr, cc = np.indices(probe.bench.camera.shape)
    masks = [(rr - c[0]) ** 2 + (cc - c[1]) ** 2 <= radius**2 for c in (zero + offset, zero - offset)]
    orders = masks[0] | masks[1]
    values = np.empty(levels.size)
    for i, level in enumerate(levels):
        probe.show(gray=grating(probe.slm_shape, period_px, reference, int(level)))
        values[i] = float(probe.frame(average)[orders].sum())
    return values


def measure_lut(
    probe: BenchProbe, stride: int = 8, period_px: int = 32, spot_sigma_px: float = 1.0, average: int = 1
) -> LutResult:
    """Measure the LUT (see the module doc): ``2 * (levels / stride + 1) + 4`` captures of ``average`` frames."""
    n_levels = probe.bench.slm.levels
    levels = np.unique(np.concatenate([np.arange(0, n_levels, stride), [n_levels - 1]]))
    probe.emission(True)
    probe.show(amplitude=probe.blob(sigma_px=spot_sigma_px), gray=probe.flat_gray())
    probe.autoexpose(target=0.5)
    windows = _order_windows(probe, period_px, average)
    scan0 = _scan(probe, levels, 0, period_px, windows, average)
    # second reference: first level where scan 0 reaches half way (phase about a quarter turn)
    half = 0.5 * (scan0.min() + scan0.max())
    ref2 = int(levels[int(np.argmax(scan0 >= half))])
    scan2 = _scan(probe, levels, ref2, period_px, windows, average)
    measured = fit_ellipse_phase(scan0, scan2)
    phase = PchipInterpolator(levels, measured)(np.arange(n_levels))
    return LutResult(phase_rad=phase - phase[0], levels=levels, scan_ref0=scan0, scan_ref2=scan2, ref2=ref2)
