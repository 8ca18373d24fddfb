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
correlation per pattern (its complex scale is free: the feature gain is fitted later) with the analytic gradient.
``R`` is evaluated per axis (the calibrated rotation enters through each band's centre; its cross term over a band
of ~20 image pixels moves the points by < 0.1 pixel at the few mrad of a bench). The background is a checkerboard
whose blurred mean cancels the unmodulated light (:func:`dark_checkerboard`), so little light from outside the
window reaches the readouts.

At real size (a 1920 x 1152 SLM, a 542 x 542 box, 195 x 195 held points) the compensation is dominated by the
optimisation, so it is set up to need few, cheap iterations:

- the objective is evaluated exactly in a compressed form (:mod:`osclc.calibration.compiler.crosstalk_model`: the
  held points of a 546-pixel region have ~66 independent modes per axis, not 195), and the fixed surround's
  light, a product over the whole SLM, once per pattern;
- the start is the double-phase encoding of the target scaled by the gain that minimises the objective (amplitudes
  clipped at 1; :class:`GainedDoublePhase`): what the optimiser from the plain encoding spends most of its
  iterations on is raising the light in the band against the surround's fixed leak (on the benchmark mask the
  plain start's band power grew 1.7x over 100 iterations);
- the optimiser is a bounded L-BFGS in a few vector operations per iteration
  (:mod:`osclc.calibration.compiler.bounded_lbfgs`), per pattern; :data:`MAX_ITERATIONS` of it reach at least the
  band correlation that SciPy's L-BFGS-B reached from the plain start in 100 (benchmark mask: 0.99945 vs 0.99936;
  the 4-channel digits program on the fringing bench: 0.99885 vs 0.99879; the 64-channel digits program on the
  realistic bench, 512 x 512 SLM: 0.99902 vs 0.99887, compiled in 8.8 s instead of 76 s on the loaded VM).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy import optimize

from osclc.calibration import encoding as enc
from osclc.calibration.compiler.bounded_lbfgs import minimise
from osclc.calibration.compiler.crosstalk_model import TWO_PI, Band, BandObjective, Region
from osclc.drivers.physics.slm_response import fringing_kernel, mean_transmittance

MAX_ITERATIONS = 40
"""L-BFGS iterations per pattern (from the gained start; 30 matched the previous path's 100 on the digits program on
the fringing bench, 10 on the benchmark mask)."""
GAIN_RANGE = (1.0, 3.0)
"""Gains of the double-phase start searched (the target scaled, amplitudes clipped at 1)."""
GAIN_TOLERANCE = 0.1
"""How closely the start's gain is found."""
DARK_SAMPLES = 721
"""Half differences (0 to pi) at which the dark checkerboard's mean field is sampled (:func:`dark_checkerboard`)."""


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

    ``m(d)`` is sampled at :data:`DARK_SAMPLES` half differences in [0, pi] and interpolated linearly between the
    two samples around the crossing. It is the mean of ``cos(d u(x) u(y))`` with the blurred square wave
    ``|u| <= 1``, so it falls monotonically on [0, pi]: every 24th sample brackets the crossing, and only the
    samples between those two are evaluated (the same result from 1/12 of the evaluations).
    """
    lo = float(phase_range[0])
    target = zero_order / (1.0 - zero_order)
    half = np.linspace(0.0, np.pi, DARK_SAMPLES)

    def above(index: np.ndarray) -> np.ndarray:
        """``m(half[index]) - target``."""
        d = half[index]
        return mean_transmittance(np.full(d.size, block), np.stack([d, -d], axis=1), sigma_px, 0.0).real - target

    coarse = np.unique(np.r_[np.arange(0, half.size, 24), half.size - 1])
    values = above(coarse)
    if not values[0] > 0.0 >= values[-1]:  # never reaches the target (or at d = 0 already): the nearer end
        d = float(half[0] if abs(values[0]) <= abs(values[-1]) else half[-1])
        return lo + np.pi - d, lo + np.pi + d
    j = int(np.flatnonzero(values > 0.0)[-1])
    fine = np.arange(coarse[j], coarse[j + 1] + 1)
    values = above(fine)
    i = int(np.flatnonzero(values > 0.0)[-1])  # the last sample above the target; the next one is not
    a, b = fine[i], fine[i + 1]
    d = float(optimize.brentq(lambda x: np.interp(x, half[a:b + 1], values[i:i + 2]), half[a], half[b]))
    return lo + np.pi - d, lo + np.pi + d


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


class GainedDoublePhase:
    """The double-phase encoding (rad, float32) of ``gain * target`` with its amplitude clipped at 1, for any gain:
    ``arg(target) + sign * acos(min(gain |target|, 1))``, ``sign`` the +-1 checkerboard of ``block`` squares whose
    first pixel is at ``origin`` (:func:`osclc.calibration.encoding.double_phase` of the clipped field)."""

    def __init__(self, target: np.ndarray, origin: tuple[int, int], block: int) -> None:
        self.angle = np.angle(target).astype(np.float32)
        self.amplitude = np.abs(target).astype(np.float32)
        self.sign = enc.checkerboard(target.shape, origin=origin, block=block).astype(np.float32)

    def __call__(self, gain: float) -> np.ndarray:
        phase = np.arccos(np.minimum(np.float32(gain) * self.amplitude, np.float32(1.0)))
        phase *= self.sign
        phase += self.angle
        return phase


def _start(objective: BandObjective, plain: np.ndarray, target: np.ndarray, block: int | None,
           wrap: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, float]:
    """The starting phases of one pattern and the gain of its double-phase encoding: the plain encoding ``plain``
    (wrapped), or, for a double-phase pattern (``block``: its square size), the encoding of the target scaled by the
    gain in :data:`GAIN_RANGE` that minimises the objective (amplitudes clipped at 1), whichever is lower."""
    if block is None:
        return plain, 1.0
    encode = GainedDoublePhase(target, objective.region.origin, block)
    found = optimize.minimize_scalar(lambda gain: objective.loss(wrap(encode(gain))), bounds=GAIN_RANGE,
                                     method="bounded", options={"xatol": GAIN_TOLERANCE})
    if float(found.fun) >= objective.loss(plain):
        return plain, 1.0
    return wrap(encode(float(found.x))), float(found.x)


def compensate(
    phases: np.ndarray, targets: np.ndarray, bands: list[Band], background: np.ndarray, correction: np.ndarray,
    box: tuple[int, int, int, int], sigma_px: float, zero_order: float, phase_range: tuple[float, float],
    iterations: int = MAX_ITERATIONS, block: int | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The phases to display in the box [n, H, W] (radians, correction included, within ``phase_range``) whose
    blurred display, with the rest of the SLM, reproduces ``targets`` in each pattern's readout band.

    - ``phases``: the encoded patterns (the double-phase encoding of ``targets`` if ``block`` is given), without
      the correction;
    - ``targets``: the wanted complex masks [n, H, W] on the box's pixels;
    - ``bands``: per pattern, where its light is read (:class:`Band`, frequencies on box pixel offsets);
    - ``background``: the phase the SLM shows around the box (whole SLM, rad: the LUT's phases of the
      background gray levels); ``correction``: the wavefront correction (whole SLM, rad);
    - ``box``: (row0, col0, rows, cols) on the SLM; ``sigma_px``, ``zero_order``: the measured crosstalk and
      unmodulated field fraction; ``phase_range``: the lowest and highest phase the SLM shows (the LUT's ends);
    - ``iterations``: the most L-BFGS iterations per pattern; ``block``: the double-phase square size when
      ``phases`` are that encoding (its gain is then chosen first, :func:`_start`), None for another encoding.

    Each pixel's 2 pi turn is chosen once (the wrap makes the objective discontinuous): ``theta + C`` is shown
    in a 2 pi interval centred in ``phase_range``, and the optimisation keeps every pixel inside ``phase_range``,
    so an SLM whose LUT spans more than 2 pi (most do) gives each pixel that much room without re-wrapping. Each
    pattern is optimised on its own (the objective is a sum over patterns), by bound-constrained L-BFGS
    (:mod:`osclc.calibration.compiler.bounded_lbfgs`) with the analytic gradient. Returns the phases and the fit:
    the band correlation ``|<Z, Y>| / (|Z| |Y|)`` (root mean square over patterns) of ``phases`` and of the
    result, the most iterations a pattern took and each pattern's double-phase gain.
    """
    lo, hi = float(phase_range[0]), float(phase_range[1])
    r0, c0, rows, cols = box
    region = Region(background, correction, box, sigma_px, zero_order)
    origin = lo + max(0.0, (hi - lo - TWO_PI) / 2)
    shift = np.asarray(correction, np.float32)[r0:r0 + rows, c0:c0 + cols] - np.float32(origin)

    def wrap(phase: np.ndarray) -> np.ndarray:
        """``phase + C`` in [origin, origin + 2 pi) (flattened, float32)."""
        turned = phase + shift
        turned -= np.float32(TWO_PI) * np.floor(turned * np.float32(1 / TWO_PI))
        return turned.reshape(-1) + np.float32(origin)

    shown = np.empty((len(bands), rows, cols))
    before, after, gains, most = 0.0, 0.0, [], 0
    for p, (target, band) in enumerate(zip(np.asarray(targets), bands)):
        objective = BandObjective(target, list(zip(band.rows, band.cols)), region)
        plain = wrap(np.asarray(phases[p], np.float32))
        before += objective.loss(plain)
        start, gain = _start(objective, plain, target, block, wrap)
        found = minimise(objective.loss_and_gradient, start, lo, max(hi, origin + TWO_PI), iterations)
        shown[p] = found.x.reshape(rows, cols)
        after += found.fun
        gains.append(gain)
        most = max(most, found.iterations)
    n = len(bands)
    fit: dict[str, Any] = {
        "correlation_before": float(np.sqrt(max(0.0, 1 - before / n))),
        "correlation_after": float(np.sqrt(max(0.0, 1 - after / n))), "iterations": most, "double_phase_gain": gains}
    return shown, fit
