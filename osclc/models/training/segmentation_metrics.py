"""Segmentation quality from a confusion matrix accumulated over a data set.

Definitions (over every pixel of every image whose target is not ``ignore_index``):

- pixel accuracy = correctly labelled pixels / counted pixels;
- IoU of class c = |pred = c and target = c| / |pred = c or target = c|; mean IoU averages over
  the classes whose union is non-empty (a class absent from both prediction and target is
  skipped, not counted as 0 or 1);
- Dice of class c = 2 |pred = c and target = c| / (|pred = c| + |target = c|), averaged the same way.

Background is a class like the others (as in VOC's mean IoU). Counts are accumulated over the
whole set first (not averaged per image).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class ConfusionMatrix:
    """Counts ``matrix[target, pred]`` over pixels; ``update`` with logits or labels, read metrics at the end."""

    num_classes: int
    ignore_index: int | None = 255

    def __post_init__(self) -> None:
        if self.num_classes < 2:
            raise ValueError(f"num_classes={self.num_classes}: segmentation needs at least 2 classes")
        self.matrix = torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64)

    @classmethod
    def from_counts(cls, counts: torch.Tensor | np.ndarray, ignore_index: int | None = 255) -> ConfusionMatrix:
        """A matrix from existing counts ``[classes, classes]`` (row = target, column = prediction)."""
        matrix = torch.as_tensor(np.asarray(counts), dtype=torch.int64)
        if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1] or bool((matrix < 0).any()):
            raise ValueError(f"confusion counts must be a square non-negative matrix, got shape {tuple(matrix.shape)}")
        out = cls(matrix.shape[0], ignore_index)
        out.matrix = matrix.clone()
        return out

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: ``prediction`` labels ``[N, H, W]`` or logits ``[N, C, H, W]``; ``target`` ``[N, H, W]``."""
        if prediction.dim() == target.dim() + 1:
            prediction = prediction.argmax(dim=1)
        if prediction.shape != target.shape:
            raise ValueError(f"prediction shape {tuple(prediction.shape)} differs from target shape {tuple(target.shape)}")
        pred, true = prediction.reshape(-1).long().cpu(), target.reshape(-1).long().cpu()
        keep = true != self.ignore_index if self.ignore_index is not None else torch.ones_like(true, dtype=torch.bool)
        pred, true = pred[keep], true[keep]
        if true.numel() and (int(true.min()) < 0 or int(true.max()) >= self.num_classes):
            raise ValueError(f"target labels outside 0..{self.num_classes - 1} (and not the ignore value {self.ignore_index})")
        if pred.numel() and (int(pred.min()) < 0 or int(pred.max()) >= self.num_classes):
            raise ValueError(f"predicted labels outside 0..{self.num_classes - 1}")
        self.matrix += torch.bincount(true * self.num_classes + pred, minlength=self.num_classes**2).reshape(
            self.num_classes, self.num_classes)

    def pixel_accuracy(self) -> float:
        """Fraction of counted pixels labelled correctly (NaN when nothing was counted)."""
        total = int(self.matrix.sum())
        return float(self.matrix.diag().sum()) / total if total else float("nan")

    def iou_per_class(self) -> torch.Tensor:
        """IoU of each class, float64; NaN for a class absent from both prediction and target."""
        inter = self.matrix.diag().double()
        union = self.matrix.sum(0).double() + self.matrix.sum(1).double() - inter
        return torch.where(union > 0, inter / union.clamp(min=1), torch.full_like(inter, float("nan")))

    def dice_per_class(self) -> torch.Tensor:
        """Dice of each class, float64; NaN for a class absent from both prediction and target."""
        inter = self.matrix.diag().double()
        sizes = self.matrix.sum(0).double() + self.matrix.sum(1).double()
        return torch.where(sizes > 0, 2 * inter / sizes.clamp(min=1), torch.full_like(inter, float("nan")))

    def mean_iou(self) -> float:
        """Mean of :meth:`iou_per_class` over the classes present."""
        return float(torch.nanmean(self.iou_per_class()))

    def mean_dice(self) -> float:
        """Mean of :meth:`dice_per_class` over the classes present."""
        return float(torch.nanmean(self.dice_per_class()))

    def summary(self) -> dict[str, float]:
        """``{"pixel_accuracy", "mean_iou", "dice"}`` as fractions in [0, 1]."""
        return {"pixel_accuracy": self.pixel_accuracy(), "mean_iou": self.mean_iou(), "dice": self.mean_dice()}


def segmentation_scores(prediction: torch.Tensor, target: torch.Tensor, num_classes: int,
                        ignore_index: int | None = 255) -> dict[str, float]:
    """Pixel accuracy, mean IoU and Dice of one batch of labels or logits against ``target``."""
    matrix = ConfusionMatrix(num_classes, ignore_index)
    matrix.update(prediction, target)
    return matrix.summary()


def format_scores(scores: dict[str, float]) -> str:
    """``pixel accuracy 97.10 %, mean IoU 88.20 %, Dice 93.00 %`` from :meth:`ConfusionMatrix.summary`."""
    names = {"pixel_accuracy": "pixel accuracy", "mean_iou": "mean IoU", "dice": "Dice"}
    return ", ".join(f"{names.get(key, key)} {100 * value:.2f} %" for key, value in scores.items())
