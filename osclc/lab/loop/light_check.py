"""Light-loss detection: a capture whose readout sees far less light than the program's calibration predicts is lost.

What the program predicts: when it was compiled, each pattern's exposure was set (auto-exposure,
:func:`osclc.calibration.execute.auto_expose`, recorded in ``program.info["normalisation"]``) so that the
brightest readout sample of its channels over the calibration images sits at
:data:`~osclc.calibration.execute.TARGET_FULL_SCALE` of the camera's full scale. Signal is linear in
exposure, so at the program's current exposure ``e`` the expected peak above dark is
``(TARGET_FULL_SCALE * max_count - dark) * e / e_normalised`` counts.

The check: the largest count above dark over the readout taps a pattern's channels use (the quantity
auto-exposure set) must reach :data:`LIGHT_FRACTION` of that expected peak, else the capture raises
:class:`NoLight` (the loop retries it like a dropped frame and then records the frame lost, cause ``no_light``).

Why 5 %: on the simulated bench the dimmest of 200 digits test images peaks at 0.26 of the expected peak
(ideal bench, auto-exposed 4-channel student), so a lit frame is 5x above the threshold; with the laser off
the largest excursion of dark noise over 7840 taps (the realistic camera: 1.07 counts rms) is 4.4 counts,
0.18 % of the expected peak (2393 counts above a 64-count dark), 27x below it.

Not checked (``LightCheck.for_program`` returns None or skips the pattern): a program never auto-exposed on
a bench (no ``normalisation`` record: nothing predicts its level), and a pattern whose auto-exposure was
clipped at the camera's longest exposure (its peak stayed below target by an unknown factor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from osclc.calibration.compiler.exposure import TARGET_FULL_SCALE
from osclc.calibration.program import OpticalProgram

LIGHT_FRACTION = 0.05
"""A capture is lit when its brightest readout sample above dark reaches this fraction of the expected peak."""

CAUSE = "no_light"
"""The ``cause`` of a frame lost for want of light, in its record."""


class NoLight(RuntimeError):
    """A capture saw less light than its program predicts (laser off, interlock open, beam blocked)."""

    cause = CAUSE


@dataclass(frozen=True)
class LightCheck:
    """Per pattern: the camera pixels of its readout taps, their dark (counts), and the least peak above dark
    (counts) a lit capture reaches; a pattern whose level the program cannot predict has threshold NaN."""

    taps: tuple[np.ndarray, ...]
    dark: tuple[np.ndarray, ...]
    thresholds: np.ndarray

    @classmethod
    def for_program(cls, program: OpticalProgram, max_count: int, longest_exposure_s: float) -> "LightCheck | None":
        """The check of ``program`` on a camera of ``max_count`` counts and exposures up to ``longest_exposure_s`` (s);
        None when the program was never auto-exposed on a bench."""
        normalised = program.info.get("normalisation", {}).get("exposure_s")
        if normalised is None or len(normalised) != len(program.patterns):
            return None
        taps, dark, thresholds = [], [], []
        for p in range(len(program.pattern_channels)):
            index, tap_dark = program.used_taps(p, image=0)
            taps.append(index)
            dark.append(tap_dark)
            if not index.size or normalised[p] >= longest_exposure_s * (1 - 1e-9):
                thresholds.append(np.nan)
                continue
            peak = (TARGET_FULL_SCALE * max_count - float(np.mean(dark[-1]))) * program.exposure_s[p] / normalised[p]
            thresholds.append(LIGHT_FRACTION * peak)
        return cls(tuple(taps), tuple(dark), np.asarray(thresholds, dtype=np.float64))

    def check(self, pattern: int, image: np.ndarray) -> None:
        """Raise :class:`NoLight` when ``image`` (the capture of ``pattern``, counts) is darker than predicted."""
        threshold = self.thresholds[pattern]
        if np.isnan(threshold):
            return
        peak = float(np.max(image.reshape(-1)[self.taps[pattern]] - self.dark[pattern]))
        if peak < threshold:
            raise NoLight(
                f"pattern {pattern}: brightest readout sample {peak:.1f} counts above dark, below the {threshold:.1f} "
                f"expected of a lit frame ({LIGHT_FRACTION:.0%} of the calibrated peak); is the laser on and the beam clear?"
            )
