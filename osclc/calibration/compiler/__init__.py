"""The compiler: a folded student and a calibration record in, an optical program (SLM patterns, readout tables) out;
then, on the bench, the exposures, frames and feature normalisation fitted and the best candidate chosen.

Modules: ``pipeline`` (the steps of :func:`compile_program`), ``options``, ``kernel_resampling``, ``layout``,
``layout_search`` (images per frame x channels per mask x masks, by predicted images/s), ``slm_geometry``, ``patterns``,
``crosstalk``, ``readout``, ``bad_pixels``, ``camera_sampling``, ``frame_rate``,
``hashing``, ``record_cache``; measured on the bench: ``exposure``, ``normalisation``, ``candidates``.
"""

from osclc.calibration.compiler.candidates import best_by_fit, compile_candidates
from osclc.calibration.compiler.exposure import auto_expose
from osclc.calibration.compiler.hashing import model_hash
from osclc.calibration.compiler.normalisation import (
    fit_normalisation, frames_for_noise, noise_ratio, normalised_correlation,
)
from osclc.calibration.compiler.options import (
    ENCODING_CHOICES, MULTIPLEX, CompileError, CompileKeywords, CompileOptions,
)
from osclc.calibration.compiler.pipeline import compile_program

__all__ = [
    "ENCODING_CHOICES", "MULTIPLEX", "CompileError", "CompileKeywords", "CompileOptions", "auto_expose", "best_by_fit",
    "compile_candidates", "compile_program", "fit_normalisation", "frames_for_noise", "model_hash", "noise_ratio",
    "normalised_correlation",
]
