"""The identity of the model a program was compiled from (the calibration's is its record's
:attr:`~osclc.calibration.record.CalibrationRecord.content_hash`)."""

from __future__ import annotations

import numpy as np

from osclc.calibration.compiler.kernel_resampling import folded_kernel
from osclc.calibration.protocols import FoldedOperator
from osclc.storage import content_hash


def model_hash(folded: FoldedOperator) -> str:
    """BLAKE2b-256 (hex) of the folded frontend: kernel values (complex128), P, N and the detector mode."""
    return content_hash([np.ascontiguousarray(folded_kernel(folded)).tobytes(),
                         f"P={folded.pad};N={folded.input_size};detector={folded.detector}".encode()])
