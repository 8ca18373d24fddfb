"""Segmentation architectures: the U-Net teacher (``unet``) and the SCLC U-Net student (``sclc_unet``).

``channels`` lists the U-Net level widths, bottleneck last (None =
:func:`~osclc.models.networks.unet.default_unet_channels` for the input size), ``kernel_size`` the
convolution size (None = 3; for the student its spectral frontend's, the decoder keeps 3 x 3 like
the default teacher), ``detector`` and ``nyquist`` the student's readout and pools. The U-Net
fixes everything else (2 x pooling per level, a decoder backend, P from the plan), so the
classification-only fields do not exist here.

Before classification and segmentation had their own configs, one flat config held both, and
checkpoints of that time store a U-Net's architecture with the classification-only fields at
their defaults: :data:`FLAT_FORM_DEFAULTS` lists them, and validation drops exactly those.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from osclc.models.networks.arch_fields import (
    DetectorField,
    KernelSize,
    NyquistField,
    Width,
)
from osclc.models.networks.sclc_unet import SCLCUNet
from osclc.models.networks.unet import UNet, check_unet_plan, default_unet_channels

SegmentationVariant = Literal["unet", "sclc_unet"]

FLAT_FORM_DEFAULTS: dict[str, object] = {
    "strides": None, "pools": None, "head_hidden": None, "backend": "linear", "hidden": 128, "spectral_kernel": "spatial", "pad": None,
}
"""Classification-only fields as the former flat config wrote them for a U-Net (dropped when loaded)."""


class SegmentationArch(BaseModel):
    """A per-pixel classifier: the U-Net teacher or the SCLC U-Net student (spectral contracting path, U-Net decoder)."""

    model_config = ConfigDict(extra="forbid")

    variant: SegmentationVariant = Field(description="unet (U-Net teacher, ReLU and max-pool), sclc_unet (SCLC U-Net student)")
    channels: list[Width] | None = Field(None, min_length=2, max_length=16, description=(
        "U-Net level widths, bottleneck last (count, 1..8192; one pooling level per entry after the first); "
        "None = 16, 32, 64, ... (doubling), one more level while the bottleneck keeps >= 8 pixels, at most 4 pooling levels"))
    kernel_size: KernelSize = Field(None, description=(
        "convolution size (pixels, odd, 1..63): every teacher conv, or the student's spectral frontend (its decoder keeps 3 x 3); None = 3"))
    detector: DetectorField = "intensity"
    nyquist: NyquistField = "keep"

    @model_validator(mode="before")
    @classmethod
    def _from_flat_form(cls, data: object) -> object:
        """Drop the classification-only fields a flat-form config or checkpoint holds at their defaults."""
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if not (k in FLAT_FORM_DEFAULTS and v == FLAT_FORM_DEFAULTS[k])}


def build_segmentation_model(arch: SegmentationArch, in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """U-Net teacher or SCLC U-Net student for ``[B, in_channels, N, N]`` images and per-pixel classes."""
    channels = list(arch.channels) if arch.channels is not None else default_unet_channels(image_size)
    check_unet_plan(channels, image_size)
    kernel = arch.kernel_size or 3
    if arch.variant == "unet":
        return UNet(in_channels, num_classes, channels, kernel)
    return SCLCUNet(in_channels, num_classes, channels, image_size, kernel, arch.detector, arch.nyquist)
