"""Verify a compiled program on the bench: camera features against the digital model, per output channel.

:func:`verify_program` turns the check images' per-channel correlation (captured vs digital) into quality
:class:`~osclc.calibration.quality.Figure` s, one per channel against the bench's
``program_check_min_correlation``, and raises :class:`~osclc.calibration.quality.QualityError` naming the worst
channels and the calibration step most likely at fault, unless forced.

Which step is at fault is read from the failure signature (:func:`likely_fault`), in this order:

1. **shifted features** (camera registration / Fourier affine): a whole-pixel shift wins back most of the
   correlation lost (:data:`SHIFT_EXPLAINS`) (:func:`best_shift`, the same shift for all channels). A wrong camera affine
   moves every readout window; a wrong Fourier affine puts each kernel off its frequencies, which also moves
   and distorts the output;
2. **features in place but wrong** (wavefront, then fringing and LUT): the SLM-side calibrations distort each
   kernel where it lies. Measured on the ideal bench with an identity calibration and one group broken (4-channel
   student): a camera offset of 2 px gives 0.48 in place and 0.999 after a (-1, 0) shift; a wavefront error
   (defocus 2 rad + coma 1 rad) 0.66 .. 0.86, which a shift lifts only to 0.89; a LUT error (gamma 3, range 3 rad)
   lowers one channel to 0.956. The LUT and the wavefront error left no signature that told them apart
   (neither the spread across channels nor a rank correlation did), so this case names all three steps,
   the wavefront first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from osclc.calibration.compiler.normalisation import normalised_correlation
from osclc.calibration.quality import Figure, judge

STEP = "program check"
"""The step name of the figures (in the run, the program and the error message)."""

MAX_SHIFT_PX = 3
"""Largest whole-pixel shift (model grid pixels, each axis) :func:`best_shift` tries."""

SHIFT_EXPLAINS = 0.75
"""Fraction of the mean correlation's shortfall from 1 a shift must win back for the features to count as shifted
(a wavefront error with coma also moves features a little, but a shift does not restore them)."""

WORST_NAMED = 5
"""How many of the worst channels an error names."""


@dataclass(frozen=True)
class Fault:
    """The calibration step most likely at fault (``step``: calibration names as ``osclc calibrate WHICH`` takes them),
    what the features showed (``cause``) and what to do (``fix``)."""

    step: str
    cause: str
    fix: str


def _shifted_correlation(captured: np.ndarray, predicted: np.ndarray, dy: int, dx: int) -> float:
    """Mean over channels of the correlation of ``captured`` [B, C, h, w] with ``predicted`` moved by (dy, dx)
    pixels (rows, cols), both cropped to their overlap."""
    h, w = captured.shape[2:]
    cap = captured[:, :, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
    pred = predicted[:, :, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return float(np.mean([normalised_correlation(cap[:, o], pred[:, o]) for o in range(captured.shape[1])]))


def best_shift(captured: np.ndarray, predicted: np.ndarray, max_shift: int = MAX_SHIFT_PX) -> tuple[tuple[int, int], float, float]:
    """The whole-pixel shift (rows, cols; model grid pixels) of ``predicted`` [B, C, h, w] that best matches
    ``captured``, its mean channel correlation, and the mean correlation without a shift."""
    h, w = captured.shape[2:]
    reach = max(0, min(max_shift, h // 4, w // 4))
    scores = {(dy, dx): _shifted_correlation(captured, predicted, dy, dx)
              for dy in range(-reach, reach + 1) for dx in range(-reach, reach + 1)}
    shift = max(scores, key=lambda s: (scores[s], s == (0, 0)))
    return shift, scores[shift], scores[(0, 0)]


def likely_fault(captured: np.ndarray, predicted: np.ndarray, correlation: Sequence[float]) -> Fault:
    """The calibration step most likely at fault, from the signature of ``captured`` vs ``predicted`` [B, C, h, w]
    and their per-channel ``correlation`` (the heuristic of the module docstring)."""
    shift, shifted, unshifted = best_shift(captured, predicted)
    if shift != (0, 0) and shifted - unshifted > SHIFT_EXPLAINS * (1.0 - unshifted):
        return Fault("camera", f"the features land shifted by {shift} model pixels (rows, cols): correlation "
                     f"{shifted:.3f} shifted, {unshifted:.3f} in place",
                     "re-run 'osclc calibrate camera' (camera registration) and 'osclc calibrate fourier' (Fourier affine)")
    values = np.asarray(correlation, dtype=np.float64)
    return Fault("wavefront", f"the features are in place but wrong (correlation {values.min():.3f} .. {values.max():.3f}, "
                 f"no shift restores them)",
                 "re-run 'osclc calibrate wavefront', 'osclc calibrate fringing' and 'osclc calibrate lut' "
                 "(SLM flatness, crosstalk and gray -> phase response)")


def verify_program(captured: np.ndarray, predicted: np.ndarray, threshold: float, force: bool = False) -> list[Figure]:
    """One figure per output channel: the correlation of ``captured`` with ``predicted`` [B, C, h, w] (camera vs
    digital features of the check images) against ``threshold`` (at least; 0 .. 1).

    Raises :class:`~osclc.calibration.quality.QualityError` naming the :data:`WORST_NAMED` worst failing channels
    and the likely faulty calibration step (:func:`likely_fault`) unless ``force``; returns every figure.
    """
    if captured.shape != predicted.shape or captured.ndim != 4:
        raise ValueError(f"captured {captured.shape} and predicted {predicted.shape} must both be [images, channels, h, w]")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"program check threshold {threshold}: give a correlation in 0 .. 1")
    correlation = [normalised_correlation(captured[:, o], predicted[:, o]) for o in range(captured.shape[1])]
    fault = None
    if min(correlation) < threshold:
        fault = likely_fault(captured, predicted, correlation)
    cause = f"most likely calibration step at fault: {fault.step} ({fault.cause})" if fault else "camera features differ from the digital model"
    fix = fault.fix if fault else "re-calibrate the bench"
    figures = [Figure(STEP, f"correlation of channel {o}", c, threshold, "min", "", cause, fix, ideal=1.0)
               for o, c in enumerate(correlation)]
    worst = sorted((f for f in figures if f.verdict == "fail"), key=lambda f: f.value)[:WORST_NAMED]
    judge(worst, force=force)
    return figures
