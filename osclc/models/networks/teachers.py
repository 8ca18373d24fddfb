"""AlexNet-style teacher CNNs: conv -> ReLU (or square, the "SQ" teacher) -> max-pool blocks, FC head.

The SQ teacher squares only in the convolutional blocks (the part an optical frontend would
compute); its electronic FC head keeps ReLU.

The block plan comes from ``plan.py`` (scaled to the input size, the real AlexNet at 224 x 224).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from osclc.models.networks.plan import NetworkPlan

Activation = Literal["relu", "square"]


class Square(nn.Module):
    """Elementwise square, the nonlinearity an optical detector could provide (SQ teacher)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x


def teacher_map_sizes(plan: NetworkPlan, image_size: int) -> list[int]:
    """Spatial size after each block of the teacher (raises ValueError if a map vanishes)."""
    size, sizes = image_size, []
    for index, layer in enumerate(plan.layers):
        size = (size + 2 * (layer.kernel // 2) - layer.kernel) // layer.stride + 1
        if layer.pool > 1:
            kernel = plan.pool_kernel or layer.pool
            size = (size - kernel) // layer.pool + 1 if size >= kernel else 0
        if size < 1:
            raise ValueError(f"architecture: block {index + 1} of the plan shrinks a {image_size}x{image_size} input to nothing; "
                             "use fewer pools/strides or a larger image_size")
        sizes.append(size)
    return sizes


class AlexNetTeacher(nn.Module):
    """Nonlinear teacher: ``features`` (conv blocks) then ``head`` (flatten, FC layers, logits)."""

    def __init__(self, plan: NetworkPlan, in_channels: int, image_size: int, num_classes: int, activation: Activation = "relu") -> None:
        super().__init__()
        if activation not in ("relu", "square"):
            raise ValueError(f"teacher: activation={activation!r}; use 'relu' or 'square'")
        final = teacher_map_sizes(plan, image_size)[-1]
        blocks: list[nn.Module] = []
        channels = in_channels
        for layer in plan.layers:
            blocks.append(nn.Conv2d(channels, layer.channels, layer.kernel, stride=layer.stride, padding=layer.kernel // 2))
            blocks.append(nn.ReLU(inplace=True) if activation == "relu" else Square())
            if layer.pool > 1:
                blocks.append(nn.MaxPool2d(plan.pool_kernel or layer.pool, stride=layer.pool))
            channels = layer.channels
        if plan.head_pool:
            blocks.append(nn.AdaptiveAvgPool2d(plan.head_pool))
            final = plan.head_pool
        self.features = nn.Sequential(*blocks)
        head: list[nn.Module] = [nn.Flatten()]
        width = channels * final * final
        for hidden in plan.head_hidden:
            head += [nn.Linear(width, hidden), nn.ReLU(inplace=True)]
            width = hidden
        head.append(nn.Linear(width, num_classes))
        self.head = nn.Sequential(*head)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images [B, C, N, N] -> logits [B, num_classes]."""
        return self.head(self.features(x))
