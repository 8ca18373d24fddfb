"""SLM pixel crosstalk (fringing) and zero order, from the power of the far field's DC spot.

Model (the crosstalk model of Persson et al. 2012 and Moser et al. 2019): the SLM's transmittance is
``T = (z + (1 - z) exp(i k ** phi)) exp(i W)`` (:mod:`osclc.drivers.physics.slm_response`): the phases
``phi`` of the displayed gray levels are blurred by the separable kernel ``k`` (a Gaussian of ``sigma`` SLM
pixels sampled at the pixel offsets and normalised: ``fringing_px`` is that sigma), ``z`` is the
unmodulated field fraction (``zero_order``), ``W`` the cover glass.

Method (impulse mode: a small spot on the input lights the SLM, the camera sees its far field). A
pattern periodic on the SLM sends the field ``c0 U exp(i W)`` into the DC spot (camera position of
SLM frequency 0, ``far_field.origin``), ``c0`` the pattern's mean transmittance; every other
diffraction order is a shifted copy of the same spot. So the DC spot keeps one shape for every
pattern and its power is ``P0 |c0|^2``. The patterns:

- uniform phases ``phi``: ``c0 = z + (1 - z) exp(i phi)``, no fringing in it: a sinusoid in ``phi``
  whose depth gives ``z`` (``|c0|^2`` drops to ``(1 - 2z)^2`` at ``phi = pi``);
- checkerboards of ``b`` x ``b`` pixel squares alternating the phases ``phi_a`` and ``phi_b``: the blur
  of ``c + d s(x) s(y)`` (``s`` a +-1 square wave of period ``2 b``, ``c`` and ``d`` the half sum and half
  difference) is ``c + d u(x) u(y)`` with ``u = k * s``, so ``c0 = z + (1 - z) exp(i c) mean(exp(i d u u))``
  over one period (:func:`osclc.drivers.physics.slm_response.mean_transmittance`). Fringing pulls ``u``
  towards 0 near the square edges, most for small ``b``.

The DC power of each frame is the amplitude of a least-squares fit of the spot's shape (the sum of the
uniform frames) plus a constant background (the other orders' tails, stray light) in a disc around
the DC position; the disc stays clear of the nearest checkerboard order (SLM frequency
``(+-1/(2b), +-1/(2b))``). ``sigma``, ``z`` and ``P0`` are fitted by least squares of the model, computed
numerically with the phases the measured LUT gives the displayed gray levels (a pair of levels
whose phases differ by more than pi is blurred through the phases between them, as on the device).
The wavefront correction is NOT displayed: the unmodulated light does not see it, and ``W``
multiplies every pattern's DC spot alike.

Limits: the fringing kernel's neighbour weight ``~ exp(-1/(2 sigma^2))`` is below 0.1 % for sigma <
0.25 px, so sigma is not identifiable there (the result is then a small value with no effect on any
pattern). The unmodulated light is assumed in phase with gray level 0 (real ``z``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from osclc.calibration.encoding import checkerboard as checker_signs
from osclc.calibration.lut import phase_to_gray
from osclc.calibration.measure import fitting
from osclc.calibration.measure.fourier_geometry import FarFieldMap
from osclc.calibration.measure.gates import exposure_figures, require_light
from osclc.calibration.measure.probe import BenchProbe
from osclc.calibration.quality import Figure
from osclc.drivers.physics.slm_response import mean_transmittance

TWO_PI = 2.0 * np.pi
# checkerboard phase pairs (rad, wanted; the LUT's phases of the displayed levels are what the fit uses):
# half differences pi/4 .. 3pi/4 (DC power most sensitive to the edge blur) at several mean phases
# (so the zero order's interference term changes sign)
CHECKER_PHASES = ((0.0, np.pi / 2), (3 * np.pi / 4, 5 * np.pi / 4), (np.pi / 4, 7 * np.pi / 4), (np.pi / 2, 3 * np.pi / 2))
SIGMA_MAX_PX = 3.0


@dataclass
class FringingResult:
    """Fitted ``fringing_px`` (sigma, SLM pixels) and ``zero_order`` (field fraction); per pattern: ``blocks``
    (square side b, SLM pixels; 0 for a uniform pattern), ``phases_rad`` [n, 2] (the LUT's phases of the two
    displayed levels), ``measured`` (DC power / fitted ``flat_power``) and ``model`` (fitted model, same unit);
    ``flat_power``: P0, the DC spot amplitude of a unit transmittance (units of the spot template);
    ``residual_rms``: RMS of measured - model; ``window_px``: radius of the DC window (camera pixels); ``grays``
    [n, 2]: the displayed gray levels (for a refit with a better LUT); ``figures``: the quality figures."""

    fringing_px: float
    zero_order: float
    blocks: np.ndarray
    phases_rad: np.ndarray
    measured: np.ndarray
    model: np.ndarray
    flat_power: float
    residual_rms: float
    window_px: float
    grays: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    figures: list[Figure] = field(default_factory=list)


def checkerboard(shape: tuple[int, int], block_px: int, level_a: int, level_b: int) -> np.ndarray:
    """Gray levels: ``block_px`` x ``block_px`` squares alternating ``level_a`` (at pixel (0, 0)) and ``level_b``."""
    return np.where(checker_signs(shape, block=block_px) > 0, level_a, level_b).astype(np.int64)


def fit_fringing(blocks: np.ndarray, phases_rad: np.ndarray, powers: np.ndarray) -> tuple[float, float, float, np.ndarray]:
    """Least-squares ``(sigma_px, zero_order, P0)`` of ``powers ~ P0 |c0(sigma, z)|^2`` (:func:`mean_transmittance`),
    started from the best point of a grid (sigma 0 .. ``SIGMA_MAX_PX``, z 0 .. 0.9, P0 in closed form);
    returns them and the fitted powers."""
    powers = np.asarray(powers, dtype=np.float64)
    sigmas = np.linspace(0.0, SIGMA_MAX_PX, 61)
    zs = np.linspace(0.0, 0.9, 91)
    best = (np.inf, 0.0, 0.0, 1.0)  # cost, sigma, z, P0
    for sigma in sigmas:
        model = np.abs(mean_transmittance(blocks, phases_rad, sigma, zs)) ** 2  # [z, n]
        scale = (model @ powers) / np.sum(model**2, axis=1)
        cost = np.sum((scale[:, None] * model - powers) ** 2, axis=1)
        j = int(np.argmin(cost))
        if cost[j] < best[0]:
            best = (float(cost[j]), float(sigma), float(zs[j]), float(scale[j]))

    def residual(p: np.ndarray) -> np.ndarray:
        return p[2] * np.abs(mean_transmittance(blocks, phases_rad, p[0], p[1])) ** 2 - powers

    start = np.array([best[1], best[2], max(best[3], 0.0)])
    solution = optimize.least_squares(residual, start, bounds=([0.0, 0.0, 0.0], [SIGMA_MAX_PX, 0.95, np.inf]),
                                      x_scale=[0.1, 0.01, max(start[2], 1e-12)], diff_step=1e-3)
    sigma, z, p0 = (float(v) for v in solution.x)
    return sigma, z, p0, residual(solution.x) + powers


def _patterns(lut: np.ndarray, blocks: tuple[int, ...], uniform: int) -> tuple[np.ndarray, np.ndarray]:
    """Blocks (0 = uniform) and gray-level pairs [n, 2] of the measured patterns."""
    wanted = [(0, (p, p)) for p in TWO_PI * np.arange(uniform) / uniform]
    wanted += [(b, pair) for b in blocks for pair in CHECKER_PHASES]
    grays = phase_to_gray(np.array([pair for _, pair in wanted]), lut).astype(np.int64)
    return np.array([b for b, _ in wanted], dtype=np.int64), grays


def _dc_window(probe: BenchProbe, far_field: FarFieldMap, blocks: tuple[int, ...], spot_sigma_px: float) -> tuple[np.ndarray, float]:
    """Camera pixels (flat indices) of the DC window and its radius: twice the spot's radius, at most 0.45 of the
    distance to the nearest checkerboard order of the largest block."""
    b = max(blocks)
    orders = np.array([(1.0, 1.0), (1.0, -1.0)]) / (2 * b)
    nearest = float(np.min(np.hypot(*(orders @ far_field.g.T).T)))
    radius = min(2.0 * probe.spot_radius(spot_sigma_px), 0.45 * nearest)
    rows, cols = np.indices(probe.bench.camera.shape)
    inside = (rows - far_field.origin[0]) ** 2 + (cols - far_field.origin[1]) ** 2 <= radius**2
    if inside.sum() < 9:
        raise fitting.FitError(f"the DC window (radius {radius:.1f} camera pixels) is too small; use smaller checkerboard blocks than {b}")
    return np.flatnonzero(inside), radius


def measure_fringing(
    probe: BenchProbe, lut: np.ndarray, far_field: FarFieldMap, blocks: tuple[int, ...] = (1, 2, 3, 4),
    uniform: int = 8, spot_sigma_px: float = 2.0, average: int = 1,
) -> FringingResult:
    """Measure fringing sigma and the zero order (see the module doc) with ``uniform`` uniform phases and the
    :data:`CHECKER_PHASES` checkerboards of each block size in ``blocks`` (SLM pixels), displayed through ``lut``
    (rad per gray level); ``far_field`` places the DC spot. ``uniform + 4 len(blocks)`` captures of ``average``
    frames, plus the exposure's."""
    block_list, grays = _patterns(lut, tuple(blocks), uniform)
    index, radius = _dc_window(probe, far_field, tuple(blocks), spot_sigma_px)
    probe.emission(True)
    probe.show(amplitude=probe.blob(sigma_px=spot_sigma_px), gray=probe.flat_gray())
    probe.autoexpose(target=0.6)
    require_light("fringing", probe.exposures)
    windows = []
    for b, (a, c) in zip(block_list, grays):  # a uniform pattern is a checkerboard of two equal levels
        probe.show(gray=checkerboard(probe.slm_shape, max(int(b), 1), int(a), int(c)))
        windows.append(probe.frame(average).ravel()[index])
    windows = np.array(windows)
    template = windows[block_list == 0].sum(axis=0)
    design = np.stack([template / template.max(), np.ones_like(template)], axis=1)
    powers = np.linalg.lstsq(design, windows.T, rcond=None)[0][0]
    return _fit(block_list, grays, lut, powers, radius, exposure_figures("fringing", probe.exposures))


def refit_fringing(result: FringingResult, lut: np.ndarray) -> FringingResult:
    """``result``'s measured DC powers fitted again with the phases a better ``lut`` (rad per gray level) gives the
    displayed levels (no capture)."""
    exposure = [f for f in result.figures if f.name not in FIT_FIGURES]
    return _fit(result.blocks, result.grays, lut, result.measured * result.flat_power, result.window_px, exposure)


FIT_FIGURES = ("fit residual", "fringing sigma", "zero order")


def _fit(blocks: np.ndarray, grays: np.ndarray, lut: np.ndarray, powers: np.ndarray, window_px: float,
         exposure: list[Figure]) -> FringingResult:
    phases = lut[grays]
    sigma, z, p0, model = fit_fringing(blocks, phases, powers)
    if p0 <= 0:
        raise fitting.FitError("no DC spot power in the fringing patterns; check the laser, exposure and far-field map")
    measured, model = powers / p0, model / p0
    residual = float(np.sqrt(np.mean((measured - model) ** 2)))
    figures = exposure + [
        Figure("fringing", FIT_FIGURES[0], residual, 0.05, "max", "",
               "the DC spot's power does not follow the crosstalk model: a crosstalk far from the model, or the LUT is off",
               "re-run `osclc calibrate lut` and then `fringing`"),
        Figure("fringing", FIT_FIGURES[1], sigma, 2.5, "max", "px",
               "very strong crosstalk between SLM pixels: patterns finer than a few pixels will not show",
               "lower the SLM's drive voltage range or use coarser patterns (larger Fourier scale, optics.f1_m)"),
        Figure("fringing", FIT_FIGURES[2], z, 0.5, "max", "",
               "most of the light is not modulated by the SLM: polarisation not aligned with the liquid crystal?",
               "rotate the input polariser to the SLM's modulation axis"),
    ]
    return FringingResult(fringing_px=sigma, zero_order=z, blocks=blocks, phases_rad=phases, measured=measured,
                          model=model, flat_power=p0, residual_rms=residual, window_px=window_px, grays=grays, figures=figures)
