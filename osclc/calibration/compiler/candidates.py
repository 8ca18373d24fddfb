"""Choices the compiler cannot make without measuring: compile the candidates, fit each on the bench, keep the best.

The double-phase square size is one: which size shows a mask best depends on the SLM's fringing, which
a calibration without the fringing step has not measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from osclc.calibration.compiler.normalisation import fit_normalisation
from osclc.calibration.compiler.options import CompileKeywords
from osclc.calibration.compiler.pipeline import compile_program
from osclc.calibration.program import OpticalProgram
from osclc.calibration.protocols import FoldedOperator, OpenBench
from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench_config import BenchConfig

if TYPE_CHECKING:
    from typing_extensions import Unpack


def compile_candidates(
    folded: FoldedOperator, calibration: CalibrationRecord, bench_config: BenchConfig | dict[str, object],
    **options: Unpack[CompileKeywords],
) -> list[OpticalProgram]:
    """The programs worth measuring before choosing one (:func:`best_by_fit`).

    :func:`~osclc.calibration.compiler.pipeline.compile_program` with ``options``; for a double-phase program on
    an SLM whose crosstalk was not measured (``fringing_px`` 0), also the single-pixel checkerboard (``block=1``):
    which square size is best then depends on the unmeasured fringing. With a measured crosstalk the patterns
    are compensated for it and the one program is returned.
    """
    first = compile_program(folded, calibration, bench_config, **options)
    if first.encoding != "double_phase" or first.info["double_phase_block"] == 1 or first.info["fringing_px"] > 0:
        return [first]
    single = options.copy()
    single["block"] = 1
    return [first, compile_program(folded, calibration, bench_config, **single)]


def best_by_fit(
    bench: OpenBench, programs: Sequence[OpticalProgram], digital_features: np.ndarray, images: np.ndarray,
) -> tuple[OpticalProgram, list[float]]:
    """Fit every candidate program on the same calibration images; the one whose camera features follow the
    digital ones best (highest mean per-channel correlation), and every candidate's mean correlation.

    ``digital_features`` [B, C_out, h, w]: the folded student's detector outputs for ``images`` [B, C_in, N, N].
    """
    scores = []
    for program in programs:
        fit = fit_normalisation(bench, program, digital_features, images)
        scores.append(float(np.mean(fit["correlation"])))
    return programs[int(np.argmax(scores))], scores
