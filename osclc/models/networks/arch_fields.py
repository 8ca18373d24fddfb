"""Field types the classification and segmentation architecture configs share.

Each carries its range (and, where both configs mean the same thing, its description), so the
two configs state a field once and the generated config reference shows the same limits.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from osclc.models.layers.detector import DetectorMode
from osclc.models.layers.spectral_pool import NyquistMode

Width = Annotated[int, Field(ge=1, le=8192)]
"""Output channels of one conv block or U-Net level (count, 1..8192)."""


def _odd(value: int | None) -> int | None:
    if value is not None and value % 2 == 0:
        raise ValueError(f"kernel_size={value} must be odd (symmetric 'same' padding in the teacher); use {value + 1}")
    return value


KernelSize = Annotated[int | None, Field(ge=1, le=63), AfterValidator(_odd)]
"""Kernel size of every convolution (pixels, odd, 1..63), or None for the network's default."""

DetectorField = Annotated[
    DetectorMode,
    Field(description="student detector: intensity |b|^2 (camera), field (Re and Im, idealised), none (Re b, purely linear)"),
]
NyquistField = Annotated[
    NyquistMode,
    Field(description="even-size spectral pools: keep the one-sided Nyquist row/column (plain crop) or zero it"),
]
