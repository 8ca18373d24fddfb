"""Segmentation variants of ``ArchConfig``: ``unet`` (teacher) and ``sclc_unet`` (student).

For these variants ``arch.channels`` lists the U-Net level widths, bottleneck last (None =
:func:`~osclc.models.networks.unet.default_unet_channels` for the input size), ``arch.kernel_size`` the
convolution size (None = 3; for the student its spectral frontend's, the decoder keeps 3 x 3 like
the default teacher), ``arch.detector`` and ``arch.nyquist`` the student's readout and
pools. The classification-only fields (strides, pools, head, backend, spectral kernel kind, pad)
must stay unset: the U-Net fixes them (2 x pooling per level, a decoder backend, P from the plan).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from osclc.models.networks.sclc_unet import SCLCUNet
from osclc.models.networks.unet import UNet, check_unet_plan, default_unet_channels

if TYPE_CHECKING:
    from osclc.models.networks.architecture import ArchConfig

SEGMENTATION_VARIANTS: tuple[str, ...] = ("unet", "sclc_unet")
_FIXED = {"strides": None, "pools": None, "head_hidden": None, "backend": "linear", "spectral_kernel": "spatial", "pad": None}


def build_segmentation_model(arch: "ArchConfig", in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """U-Net teacher or SCLC U-Net student for ``[B, in_channels, N, N]`` images and per-pixel classes."""
    for name, default in _FIXED.items():
        if getattr(arch, name) != default:
            raise ValueError(f"architecture.{name}={getattr(arch, name)!r} does not apply to variant {arch.variant!r}; remove it")
    channels = list(arch.channels) if arch.channels is not None else default_unet_channels(image_size)
    check_unet_plan(channels, image_size)
    kernel = arch.kernel_size or 3
    if arch.variant == "unet":
        return UNet(in_channels, num_classes, channels, kernel)
    if arch.variant == "sclc_unet":
        return SCLCUNet(in_channels, num_classes, channels, image_size, kernel, arch.detector, arch.nyquist)
    raise ValueError(f"architecture.variant={arch.variant!r} is not a segmentation variant ({', '.join(SEGMENTATION_VARIANTS)})")
