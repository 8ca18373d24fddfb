"""Dark frame, noise per exposure, hot/dead pixels and the per-pixel flat response (gain) of the camera.

Dark: laser off (input modulator and SLM showing an open, lit pattern, so light that the laser's emission control
does not stop shows in the dark frame and fails its gate; so does light that moves when the SLM shows a ramp),
frames at the camera's exposure and at a long one give the per-pixel offset and its
growth per second (dark current), and the temporal noise at each exposure (from the difference of
frame pairs). Programs extrapolate the dark to each pattern's exposure (up to hundreds of
milliseconds for dim patterns), so the growth is measured over a long span (``long_exposure_s``:
the noise of a difference over a few milliseconds, extrapolated that far, would be tens of counts),
and a pixel whose growth is within ``significance`` noise standard deviations of the median growth
takes the median (its own estimate is noise; hot pixels keep theirs); the offset is then the mean of
both exposures' frames brought back to the short one.
Gain: with the whole input modulator lit and the SLM flat, the camera sees the image of a uniform
field; dividing it by its own smoothed version removes the (smooth) illumination profile and leaves
the per-pixel response (mean 1). Pixels outside the lit image and dead pixels keep gain 1; hot and
dead pixels are returned as masks (the record's ``bad_pixels``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from osclc.calibration.measure.gates import exposure_figures
from osclc.calibration.measure.probe import BenchProbe
from osclc.calibration.quality import Figure

LIT_SIGMA = 8.0
"""A dark pixel this many noise standard deviations above the median dark level, with lit neighbours, is light."""


@dataclass
class DarkResult:
    """Dark offset (counts at ``exposure_s``), growth (counts/s), noise (counts rms per exposure), hot pixels, and the
    quality figures (dark level, light in the dark frame)."""

    frame: np.ndarray
    per_s: np.ndarray
    exposure_s: float
    noise_counts: dict[str, float]
    hot: np.ndarray
    figures: list[Figure] = field(default_factory=list)


@dataclass
class GainResult:
    """Per-pixel response (mean 1 over the lit image), dead pixels, and the quality figures (light, exposure)."""

    gain: np.ndarray
    dead: np.ndarray
    figures: list[Figure] = field(default_factory=list)


def lit_pixels(dark: np.ndarray, noise: float) -> int:
    """Pixels of a dark frame more than :data:`LIT_SIGMA` noise deviations above its median that have at least two such
    neighbours (light is a patch; a hot pixel stands alone)."""
    bright = dark > np.median(dark) + LIT_SIGMA * max(noise, 0.3)
    neighbours = ndimage.convolve(bright.astype(np.int32), np.ones((3, 3), np.int32), mode="constant") - bright
    return int(np.sum(bright & (neighbours >= 2)))


def changed_pixels(first: np.ndarray, second: np.ndarray, noise: float) -> int:
    """Pixels that differ by more than :data:`LIT_SIGMA` standard deviations of a difference of two frames of ``noise``
    counts rms (with the laser off, only light that passes the SLM can change when the SLM's pattern changes)."""
    return int(np.sum(np.abs(first - second) > LIT_SIGMA * np.sqrt(2.0) * max(noise, 0.3)))


LEAK = "light reaches the camera with the laser off: the laser does not switch off, or stray light / another source"
LEAK_FIX = "check the laser's emission control, cover the beam path and darken the room"


def _dark_figures(level: float, full: float, lit: int, changed: int) -> list[Figure]:
    return [
        Figure("dark", "dark level / full scale", level / full, 0.5, "max", "",
               "the camera's dark level is near saturation (black level or offset set too high)",
               "lower the camera's black level / offset", ideal=0.02),
        Figure("dark", "lit pixels in the dark frame", float(lit), 3.0, "max", "px", LEAK, LEAK_FIX, margin=0.0),
        Figure("dark", "dark pixels an SLM pattern changes", float(changed), 0.0, "max", "px", LEAK, LEAK_FIX, margin=0.0),
    ]


def measure_dark(probe: BenchProbe, frames: int = 4, long_exposure_s: float = 0.5, significance: float = 5.0) -> DarkResult:
    """Dark frames at the camera's exposure and at ``long_exposure_s`` (s, clipped to the camera's range; laser
    off); ``2 * frames`` captures per exposure, and ``frames`` more at the long exposure with a ramp on the SLM (light
    that passes the SLM moves). See the module doc for the growth per second."""
    camera = probe.bench.camera
    probe.emission(False)
    probe.show(amplitude=probe.uniform(), gray=probe.flat_gray())  # all open: only the laser keeps the light out
    base = float(camera.exposure_s)
    exposures = [base, float(np.clip(max(long_exposure_s, base), *camera.exposure_range_s))]
    means, sigmas = [], []
    for exposure in exposures:
        camera.exposure_s = exposure
        first, second = probe.raw(frames), probe.raw(frames)
        means.append(0.5 * (first + second))
        # difference of two means of `frames` frames: variance 2 sigma^2 / frames per pixel
        sigmas.append(float(np.median(np.abs(first - second)) / 0.6745 * np.sqrt(frames / 2.0)))
    probe.show(gray=_ramp(probe.slm_shape, probe.bench.slm.levels))  # deflects any light that passes the SLM
    deflected = probe.raw(frames)
    camera.exposure_s = base
    noise = {f"{exposure:.6g}": sigma for exposure, sigma in zip(exposures, sigmas)}
    level = np.median(means[0])
    hot = means[0] > level + 0.5 * (camera.max_count - level)
    span = exposures[1] - exposures[0]
    per_s = np.zeros_like(means[0])
    if span > 0:
        per_s = (means[1] - means[0]) / span
        # noise of one pixel's growth: each mean averages 2 * frames frames
        spread = np.hypot(*sigmas) / np.sqrt(2 * frames) / span
        typical = float(np.median(per_s[~hot]))
        per_s = np.where(np.abs(per_s - typical) > significance * spread, per_s, typical)
    # the offset from both exposures (the same as the short one where a pixel keeps its own growth)
    frame = 0.5 * (means[0] + means[1] - per_s * span)
    changed = changed_pixels(deflected, means[1], sigmas[1] / np.sqrt(frames))
    figures = _dark_figures(float(level), float(camera.max_count), lit_pixels(means[0], sigmas[0]), changed)
    result = DarkResult(frame=frame, per_s=np.where(hot, 0.0, per_s), exposure_s=base, noise_counts=noise, hot=hot, figures=figures)
    probe.dark_frame, probe.dark_per_s, probe.dark_exposure_s = result.frame, result.per_s, result.exposure_s
    probe.dark_noise = sigmas[0]
    probe.bad_pixels = probe.bad_pixels | hot
    return result


def _ramp(shape: tuple[int, int], levels: int, period_px: int = 8) -> np.ndarray:
    """Gray levels rising across every ``period_px`` columns: a blaze whatever the LUT, so it moves the light."""
    return np.broadcast_to((np.arange(shape[1]) % period_px) * levels // period_px, shape).astype(np.int64)


def measure_gain(probe: BenchProbe, frames: int = 4, smooth_px: int = 7, lit_fraction: float = 0.3) -> GainResult:
    """Per-pixel response (camera shape, mean 1 over the lit image, 1 outside and at dead pixels) and the
    dead pixels (lit pixels answering less than a fifth of their neighbourhood)."""
    probe.emission(True)
    probe.show(amplitude=probe.uniform(), gray=probe.flat_gray())
    probe.autoexpose(target=0.6)
    image = probe.frame(frames)
    smooth = ndimage.median_filter(image, size=smooth_px)
    lit = ndimage.binary_erosion(smooth > max(lit_fraction * np.percentile(smooth, 99.5), 0.0), iterations=smooth_px)
    gain = np.ones_like(image)
    gain[lit] = image[lit] / smooth[lit]
    dead = lit & (gain < 0.2)
    gain[dead] = 1.0
    if np.any(lit & ~dead):
        gain[lit & ~dead] /= np.mean(gain[lit & ~dead])
    probe.gain_frame = gain
    probe.bad_pixels = probe.bad_pixels | dead
    return GainResult(gain=gain, dead=dead, figures=exposure_figures("dark", probe.exposures))
