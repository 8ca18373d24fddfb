"""The electronic backend of a student: per-channel gain/offset, then a fully connected head.

``gain`` and ``offset`` (one per detector channel) absorb the bench's unknown scale and
background; hardware-in-the-loop fine-tuning retrains exactly this module. The head is one
``nn.Linear`` (the paper's choice) or a small MLP (Linear -> ReLU -> Linear).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

BackendKind = Literal["linear", "mlp"]


class Backend(nn.Module):
    """Features [B, C, h, w] -> logits [B, num_classes]."""

    def __init__(self, channels: int, height: int, width: int, num_classes: int, kind: BackendKind = "linear", hidden: int = 128) -> None:
        super().__init__()
        if kind not in ("linear", "mlp"):
            raise ValueError(f"backend: kind={kind!r}; use 'linear' or 'mlp'")
        if min(channels, height, width, num_classes, hidden) < 1:
            raise ValueError(f"backend: channels={channels}, size={height}x{width}, num_classes={num_classes}, hidden={hidden} must all be >= 1")
        self.kind: BackendKind = kind
        self.channels, self.height, self.width, self.num_classes, self.hidden = channels, height, width, num_classes, hidden
        self.gain = nn.Parameter(torch.ones(channels))
        self.offset = nn.Parameter(torch.zeros(channels))
        features = channels * height * width
        self.head: nn.Module
        if kind == "linear":
            self.head = nn.Linear(features, num_classes)
        else:
            self.head = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_classes))

    def config(self) -> dict:
        """Constructor arguments (JSON-serialisable), for rebuilding from exported weights."""
        return {"channels": self.channels, "height": self.height, "width": self.width, "num_classes": self.num_classes,
                "kind": self.kind, "hidden": self.hidden}

    def calibrate(self, features: torch.Tensor) -> torch.Tensor:
        """Per-channel affine ``features * gain + offset`` [B, C, h, w]."""
        return features * self.gain[None, :, None, None] + self.offset[None, :, None, None]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.shape[1:] != (self.channels, self.height, self.width):
            raise ValueError(f"backend: expected features [B, {self.channels}, {self.height}, {self.width}], got {tuple(features.shape)}")
        return self.head(self.calibrate(features).flatten(1))
