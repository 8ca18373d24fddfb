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

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, optimize
from scipy.interpolate import PchipInterpolator

from osclc.calibration.measure import fitting
from osclc.calibration.measure.fitting import MAD_TO_SIGMA
from osclc.calibration.measure.gates import MIN_SNR, exposure_figures, require_light
from osclc.calibration.measure.probe import BenchProbe
from osclc.calibration.quality import Figure, QualityError
from osclc.drivers.physics.slm_response import blurred_square_wave

FROZEN = "the SLM patterns do not change the light: SLM frozen, not connected, or showing another video output?"
FROZEN_FIX = "check the SLM's video/USB connection and that the panel shows what the driver sends"


@dataclass
class LutResult:
    """Measured LUT (radians, every gray level), the scanned levels, both scans (first-order power, counts), the
    second reference level, the gratings' period (SLM pixels), and the quality figures (light, modulation, ellipse
    residual, phase range)."""

    phase_rad: np.ndarray
    levels: np.ndarray
    scan_ref0: np.ndarray
    scan_ref2: np.ndarray
    ref2: int
    period_px: int = 32
    figures: list[Figure] = field(default_factory=list)


def grating_period(far_field_px: float, clearance_px: float = 16.0) -> int:
    """The longest power-of-two grating period (8 .. 32 SLM pixels) whose first orders land at least ``clearance_px``
    camera pixels from the zeroth at the far-field scale ``far_field_px`` (camera pixels per cycle per pixel): long
    periods keep the stripes' blurred edges (fringing) a small part of them, the clearance keeps the bright zeroth
    order out of the first orders' windows."""
    return int(np.clip(2 ** np.floor(np.log2(far_field_px / clearance_px)), 8, 32))


def grating(shape: tuple[int, int], period_px: int, level_a: int, level_b: int) -> np.ndarray:
    """Vertical binary stripes: columns alternate ``level_a`` and ``level_b`` every ``period_px // 2`` pixels."""
    cols = np.arange(shape[1])
    row = np.where((cols // (period_px // 2)) % 2 == 0, level_a, level_b)
    return np.broadcast_to(row, shape).astype(np.int64)


def fit_ellipse_phase(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Angle (radians, unwrapped, starting at 0, rising) of points ``(x, y)`` on a fitted ellipse
    ``x = x0 + ax cos t``, ``y = y0 + ay cos(t - alpha)``, and the RMS distance of the points from the ellipse
    (as a fraction of its radius, after mapping it onto the unit circle)."""
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
    qy = (py - px * cos_alpha) / sin_alpha
    angle = np.unwrap(np.arctan2(qy, px))
    angle -= angle[0]
    residual = float(np.sqrt(np.mean((np.hypot(px, qy) - 1.0) ** 2)))
    return (angle if angle[-1] >= 0 else -angle), residual


def _order_windows(probe: BenchProbe, period_px: int, average: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Zero-order position, first-order offset (camera pixels) and the window radius, found on four frames:
    the flat SLM, and gratings against three levels; the first order is the brightest gain over the flat frame.
    Raises :class:`QualityError` when no grating changes the light (the SLM shows nothing)."""
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
    snr = float(ndimage.median_filter(gain, size=3)[int(first[0]), int(first[1])]) / (np.sqrt(2.0) * probe.noise(flat))
    if snr < MIN_SNR or np.hypot(*(first - zero)) < 2.0:
        raise QualityError([Figure("lut", "grating order signal / noise", snr, MIN_SNR, "min", "", FROZEN, FROZEN_FIX, ideal=100.0)])
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
    probe: BenchProbe, stride: int = 8, period_px: int | None = None, spot_sigma_px: float = 1.0, average: int = 1
) -> LutResult:
    """Measure the LUT (see the module doc): ``2 * (levels / stride + 1) + 4`` captures of ``average`` frames. The
    gratings' period (SLM pixels; default :func:`grating_period`) puts the first orders well clear of the zeroth."""
    period_px = grating_period(probe.nominal_far_field_px()) if period_px is None else int(period_px)
    n_levels = probe.bench.slm.levels
    levels = np.unique(np.concatenate([np.arange(0, n_levels, stride), [n_levels - 1]]))
    probe.emission(True)
    probe.show(amplitude=probe.blob(sigma_px=spot_sigma_px), gray=probe.flat_gray())
    probe.autoexpose(target=0.5)
    require_light("lut", probe.exposures)
    windows = _order_windows(probe, period_px, average)
    scan0 = _scan(probe, levels, 0, period_px, windows, average)
    figures = exposure_figures("lut", probe.exposures)
    figures.append(Figure("lut", "grating scan modulation / noise", modulation_snr(scan0), 10.0, "min", "", FROZEN, FROZEN_FIX,
                          ideal=100.0))
    if figures[-1].verdict == "fail":
        raise QualityError(figures[-1:])  # nothing to fit an ellipse to
    # second reference: first level where scan 0 reaches half way (phase about a quarter turn)
    half = 0.5 * (scan0.min() + scan0.max())
    ref2 = int(levels[int(np.argmax(scan0 >= half))])
    scan2 = _scan(probe, levels, ref2, period_px, windows, average)
    measured, residual = fit_ellipse_phase(scan0, scan2)
    phase = PchipInterpolator(levels, measured)(np.arange(n_levels))
    phase -= phase[0]
    figures += [
        Figure("lut", "ellipse fit residual", residual, 0.1, "max", "",
               "the two grating scans do not trace one ellipse: light or SLM drifting during the scan, or a nonlinear camera",
               "let the laser and SLM warm up, check the camera is linear (not saturating), re-run `osclc calibrate lut`"),
        range_figure(phase),
    ]
    return LutResult(phase_rad=phase, levels=levels, scan_ref0=scan0, scan_ref2=scan2, ref2=ref2, period_px=period_px,
                     figures=figures)


def modulation_snr(scan: np.ndarray) -> float:
    """Range of a grating scan over its noise, the noise from the scan's second differences (robust, and nearly blind
    to the smooth rise and fall of a real scan): about 4 for a scan of noise alone (an SLM that shows nothing), tens
    to thousands for a working one, whatever pedestal stray light adds."""
    second = np.diff(np.asarray(scan, dtype=np.float64), 2)
    noise = MAD_TO_SIGMA * float(np.median(np.abs(second - np.median(second)))) / np.sqrt(6.0)
    return float(np.ptp(scan)) / max(noise, 1e-12 * max(float(np.abs(scan).max()), 1e-300))


def range_figure(phase_rad: np.ndarray) -> Figure:
    """The phase range the LUT covers (to the level after the last: one full period of levels) against 1.4 pi."""
    span = float(phase_rad[-1] * phase_rad.size / (phase_rad.size - 1)) / np.pi
    return Figure("lut", "phase range", span, 1.4, "min", "pi rad", f"the SLM covers only {span:.2f} pi rad: phases beyond it "
                  "cannot be shown", "set the SLM's voltage range / LUT for this wavelength so that it covers 2 pi", ideal=2.0)


def grating_order_power(half_difference: np.ndarray, period_px: int, fringing_px: float) -> np.ndarray:
    """Mean power of the +-1st orders (per unit incident power) of binary gratings of ``period_px`` pixels whose two
    phases differ by ``2 * half_difference`` (rad, [n]), their stripes blurred by fringing ``fringing_px`` (sigma,
    pixels): ``sin(d)^2 (2/pi)^2`` without fringing; the blurred edges pass through the phases in between."""
    wave = blurred_square_wave(period_px // 2, fringing_px)
    x = np.arange(period_px)
    field = np.exp(1j * np.asarray(half_difference, dtype=np.float64)[:, None] * wave[None, :])
    orders = field @ np.exp(-2j * np.pi * np.outer(x, [1, -1]) / period_px) / period_px
    return np.mean(np.abs(orders) ** 2, axis=1)


def refine_lut(result: LutResult, fringing_px: float) -> LutResult:
    """The LUT refitted to both scans with the fringing the fringing step measured (``fringing_px``, sigma, pixels):
    the ellipse method assumes sharp stripe edges, whose blur bends its Lissajous figure (0.1 rad of error at
    1.5 px). Least squares of ``scan = A * P(phi(g) - phi(ref)) + B`` (:func:`grating_order_power`) over the phases
    at the scanned levels and each scan's ``A`` and ``B``, from the ellipse's answer; the phase-range figure is
    recomputed."""
    levels = result.levels
    n_levels = result.phase_rad.size
    start = result.phase_rad[levels]
    ref2 = int(np.searchsorted(levels, result.ref2))
    scans = np.stack([result.scan_ref0, result.scan_ref2])
    scale = np.ptp(scans, axis=1, keepdims=True)

    def model(phases: np.ndarray) -> np.ndarray:
        return np.stack([grating_order_power(phases / 2, result.period_px, fringing_px),
                         grating_order_power((phases - phases[ref2]) / 2, result.period_px, fringing_px)])

    def amplitudes(power: np.ndarray) -> np.ndarray:
        return np.array([np.linalg.lstsq(np.stack([p, np.ones_like(p)], 1), s, rcond=None)[0] for p, s in zip(power, scans)])

    def residual(free: np.ndarray) -> np.ndarray:
        phases = np.concatenate([[0.0], free[:-4]])
        (a0, b0), (a2, b2) = free[-4:].reshape(2, 2)
        power = model(phases)
        return ((np.stack([a0 * power[0] + b0, a2 * power[1] + b2]) - scans) / scale).ravel()

    first = np.concatenate([start[1:], amplitudes(model(start)).ravel()])
    solution = optimize.least_squares(residual, first, x_scale=np.concatenate([np.ones(start.size - 1), np.abs(first[-4:]) + 1e-9]))
    phases = np.concatenate([[0.0], solution.x[:-4]])
    phase = PchipInterpolator(levels, phases)(np.arange(n_levels))
    phase -= phase[0]
    figures = [range_figure(phase) if f.name == "phase range" else f for f in result.figures]
    return dataclasses.replace(result, phase_rad=phase, figures=figures)
