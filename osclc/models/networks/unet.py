"""U-Net teacher for segmentation, and the expanding path it shares with the SCLC U-Net student.

``channels = [c_0, ..., c_L]`` sizes everything: level l < L works at resolution S / 2**l with
c_l channels, level L is the bottleneck at S / 2**L. The contracting path is
(conv-BN-ReLU) x 2 then 2 x 2 max-pool per level; the expanding path (:class:`UNetDecoder`) is a
2 x 2 stride-2 up-convolution, concatenation with the skip of that level, (conv-BN-ReLU) x 2,
and a 1 x 1 convolution to per-pixel class logits ``[N, classes, S, S]``. The student replaces
the contracting path by a linear spectral one and keeps this decoder as its electronic backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class UNetShapeError(ValueError):
    """An image size or channel plan the U-Net cannot use; the message says which and why."""


def default_unet_channels(image_size: int, base: int = 16, min_bottleneck: int = 8, max_depth: int = 4) -> list[int]:
    """Channel plan for ``image_size`` pixels: ``base * 2**l`` per level, pooling while the bottleneck stays >= ``min_bottleneck``."""
    depth = 0
    while depth < max_depth and image_size % (2 ** (depth + 1)) == 0 and image_size // 2 ** (depth + 1) >= min_bottleneck:
        depth += 1
    return [base * 2**level for level in range(depth + 1)]


def check_unet_plan(channels: Sequence[int], image_size: int) -> None:
    """Raise :class:`UNetShapeError` unless ``channels`` has >= 2 positive widths and ``image_size`` divides by 2**depth."""
    if len(channels) < 2 or any(c < 1 for c in channels):
        raise UNetShapeError(f"arch.channels={list(channels)}: a U-Net needs >= 2 positive widths (levels + bottleneck)")
    depth = len(channels) - 1
    if image_size % 2**depth:
        raise UNetShapeError(
            f"image size {image_size} is not divisible by 2**{depth} (arch.channels has {depth} pooling levels); "
            f"use a size that is a multiple of {2**depth} or fewer channels entries"
        )


class ConvBlock(nn.Sequential):
    """(conv k x k 'same' - BatchNorm - ReLU) x 2."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int = 3) -> None:
        pad = kernel_size // 2
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size, padding=pad, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, kernel_size, padding=pad, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        )


class UNetDecoder(nn.Module):
    """Expanding path: ``forward(skips)`` with ``skips[l]`` ``[N, s_l, S/2**l, S/2**l]`` (l = 0..L) -> logits.

    ``skip_channels`` (s_l, default ``channels``) are the channels each level hands over; the
    decoder's own widths are ``channels`` (the up-convolution into level l gives c_l channels).
    """

    def __init__(self, channels: Sequence[int], num_classes: int, kernel_size: int = 3,
                 skip_channels: Sequence[int] | None = None) -> None:
        super().__init__()
        self.channels = list(channels)
        skips = list(skip_channels) if skip_channels is not None else self.channels
        if len(skips) != len(self.channels):
            raise UNetShapeError(f"skip_channels={skips} must have one entry per level of channels={self.channels}")
        ups_in = [*self.channels[1:-1], skips[-1]]  # level l + 1's block output; the bottleneck's skip for the deepest
        self.ups = nn.ModuleList(nn.ConvTranspose2d(ups_in[level], self.channels[level], 2, stride=2)
                                 for level in range(len(self.channels) - 1))
        self.blocks = nn.ModuleList(ConvBlock(skips[level] + self.channels[level], self.channels[level], kernel_size)
                                    for level in range(len(self.channels) - 1))
        self.head = nn.Conv2d(self.channels[0], num_classes, 1)

    def forward(self, skips: Sequence[torch.Tensor]) -> torch.Tensor:
        x = skips[-1]
        for level in reversed(range(len(self.channels) - 1)):
            x = self.blocks[level](torch.cat([skips[level], self.ups[level](x)], dim=1))
        return self.head(x)


class UNet(nn.Module):
    """The nonlinear teacher: contracting conv-ReLU-maxpool path, bottleneck, :class:`UNetDecoder`."""

    def __init__(self, in_channels: int, num_classes: int, channels: Sequence[int], kernel_size: int = 3) -> None:
        super().__init__()
        self.channels = list(channels)
        widths = [in_channels, *self.channels]
        self.encoder = nn.ModuleList(ConvBlock(widths[level], widths[level + 1], kernel_size) for level in range(len(self.channels)))
        self.pool = nn.MaxPool2d(2)
        self.decoder = UNetDecoder(self.channels, num_classes, kernel_size)

    def skips(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps of every level (``skips[l]`` at S / 2**l), the bottleneck last."""
        out = []
        for level, block in enumerate(self.encoder):
            x = block(x if level == 0 else self.pool(x))
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits ``[N, classes, S, S]`` of images ``[N, in_channels, S, S]``."""
        return self.decoder(self.skips(x))
