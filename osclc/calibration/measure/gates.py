"""Quality figures the calibration steps share: light, exposure and saturation, and deviation from the nominal
geometry of the bench config.

Each step adds its own figures (residuals, usable spots) to these; :func:`osclc.calibration.quality.judge`
turns them into verdicts. Causes and fixes are written for a person at the bench.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from osclc.calibration.measure.probe import Exposure
from osclc.calibration.quality import Figure, QualityError

MIN_SNR = 10.0
"""Least brightest-spot / frame-noise ratio at which a step trusts that it sees light."""
NO_LIGHT = "no light on the camera: laser off or shutter closed (or the camera far off the beam)?"
NO_LIGHT_FIX = "switch the laser on (laser.power_mw > 0, interlock closed), open the shutter, centre the camera on the beam"


def exposure_figures(step: str, exposures: Sequence[Exposure], least_target: float = 0.1) -> list[Figure]:
    """Light present (signal-to-noise), a linear response (no clipping below full scale), the exposure target reached
    to at least ``least_target`` and no saturation, each from the step's worst exposure control; the others only once
    there is light. A step whose own figures judge its signal (the wavefront's usable pairs) asks less of the target."""
    if not exposures:
        return []
    snr = min(e.light / e.noise for e in exposures)
    clipped = min(exposures, key=lambda e: e.linearity)
    figures = [Figure(step, "light (signal / noise)", snr, MIN_SNR, "min", "", NO_LIGHT, NO_LIGHT_FIX, ideal=100.0)]
    if snr < MIN_SNR:
        return figures
    figures += [
        Figure(step, "signal growth with exposure (log-log slope)", clipped.linearity, 0.5, "min", "",
               f"the camera saturates below its full scale: the signal stopped growing with the exposure at "
               f"{clipped.peak:.0f} of {clipped.full:.0f} counts (full well reached before the ADC's maximum?)",
               "lower the camera gain so that the full well matches the ADC range (camera.gain), or lower the light",
               ideal=1.0),
        Figure(step, "peak / exposure target", min(e.peak / e.target for e in exposures), least_target, "min", "",
               "too little light: the longest exposure at the highest allowed power stays far below the target",
               "raise laser.max_power_mw or remove attenuation (ND filter), or allow longer exposures (timeout_s)", ideal=1.0),
    ]
    saturated = max(e.peak / e.full for e in exposures)
    figures.append(Figure(step, "peak / full scale", saturated, 0.98, "max", "",
                          "the camera saturates even at its shortest exposure and lowest laser power",
                          "add attenuation (ND filter) or lower the camera gain", ideal=0.5, margin=0.0))
    return figures


def require_light(step: str, exposures: Sequence[Exposure]) -> None:
    """Raise :class:`QualityError` (whatever ``--force`` says: nothing can be measured) when the step's exposure
    controls saw no light."""
    failed = [f for f in exposure_figures(step, exposures)[:1] if f.verdict == "fail"]
    if failed:
        raise QualityError(failed)


def scale_figure(step: str, what: str, measured: float, nominal: float, formula: str, fields: str, bound: float = 1.35) -> Figure:
    """``measured / nominal`` as a factor off 1 (``max(r, 1/r)``, bound ``bound``): the cause quotes the ratio, the nominal
    value's ``formula`` and the config ``fields`` that set it."""
    ratio = measured / nominal if nominal > 0 else float("nan")
    factor = max(ratio, 1.0 / ratio) if ratio > 0 else float("inf")
    return Figure(step, f"{what} / nominal (factor off 1)", factor, bound, "max", "x",
                  f"{what} {ratio:.3g}x the nominal {formula} = {nominal:.4g}", f"check {fields}", ideal=1.0)


def offset_figure(step: str, what: str, offset_px: np.ndarray, size_px: Sequence[int], cause: str, fix: str,
                  bound: float = 0.2) -> Figure:
    """Distance of a measured centre from its nominal place, as a fraction of the device's smaller side (bound
    ``bound``; a real bench stays within 10 % along each axis, 14 % on the diagonal)."""
    distance = float(np.hypot(*offset_px))
    return Figure(step, f"{what} offset / device size", distance / float(min(size_px)), bound, "max", "",
                  f"{cause} ({distance:.0f} px from nominal)", fix)


def condition_figure(step: str, what: str, condition: float, cause: str, fix: str, bound: float = 1.3) -> Figure:
    """Condition number of a measured 2x2 map (1 for a rotation times a scale): a skewed or collapsed map fails."""
    return Figure(step, f"{what} condition number", condition, bound, "max", "", cause, fix, ideal=1.0)
