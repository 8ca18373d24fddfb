"""The identity of the model a program was compiled from (the calibration's is its record's
:attr:`~osclc.calibration.record.CalibrationRecord.content_hash`)."""

from __future__ import annotations

import hashlib

import numpy as np

from osclc.calibration.compiler.kernel_resampling import folded_kernel
from osclc.calibration.protocols import FoldedOperator


def model_hash(folded: FoldedOperator) -> str:
    """BLAKE2b-256 (hex) of the folded frontend: kernel values (complex128), P, N and the detector mode."""
    digest = hashlib.blake2b(digest_size=32)
    digest.update(np.ascontiguousarray(folded_kernel(folded)).tobytes())
    digest.update(f"P={folded.pad};N={folded.input_size};detector={folded.detector}".encode())
    return digest.hexdigest()
