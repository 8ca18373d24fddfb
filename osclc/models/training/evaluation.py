"""Accuracy with its 95 % interval, confusion matrices, and mean +- interval over seeds.

- One model on one test split: the number correct is binomial, so the interval is Wilson's score
  interval (good coverage even near 0 or 100 %, unlike the normal approximation).
- Segmentation (per-pixel targets ``[N, H, W]``): every pixel is one trial, except pixels labelled
  :data:`SEGMENTATION_IGNORE_INDEX` (255, VOC's object borders), which are not counted.
- Several seeds: mean accuracy +- the Student-t half width ``t_{0.975, n-1} * s / sqrt(n)``
  (``s`` the sample standard deviation); with one seed the half width is undefined (NaN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import torch
from scipy import stats
from torch import nn
from torch.utils.data import Dataset

from osclc.models.data.arrays import as_array_split

SEGMENTATION_IGNORE_INDEX = 255
"""Per-pixel target value that is not scored (Pascal VOC's 'void' borders)."""


@overload
def counted(targets: torch.Tensor) -> torch.Tensor: ...
@overload
def counted(targets: np.ndarray) -> np.ndarray: ...


def counted(targets: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Boolean mask of the targets that count (same type and device): all class labels ``[N]``; per-pixel ones
    except the ignore value."""
    if targets.ndim > 1:
        return targets != SEGMENTATION_IGNORE_INDEX
    if isinstance(targets, torch.Tensor):
        return torch.ones_like(targets, dtype=torch.bool)
    return np.ones(targets.shape, dtype=bool)


@dataclass(frozen=True)
class Accuracy:
    """``correct`` of ``total`` right: ``value`` (fraction) with the Wilson interval ``[low, high]``."""

    correct: int
    total: int
    value: float
    low: float
    high: float
    confidence: float = 0.95

    def __str__(self) -> str:
        return (
            f"{100 * self.value:.2f} % [{100 * self.low:.2f}, {100 * self.high:.2f}] "
            f"({self.correct}/{self.total}, {100 * self.confidence:g} % Wilson)"
        )

    def as_dict(self) -> dict[str, float | int]:
        """Plain numbers for JSON (fractions, not percent)."""
        return {"accuracy": self.value, "low": self.low, "high": self.high, "correct": self.correct, "n": self.total}


def wilson_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval ``(low, high)`` (fractions) for ``correct`` successes in ``total`` trials."""
    if total <= 0:
        raise ValueError(f"total={total}: an accuracy needs at least one test item")
    if not 0 <= correct <= total:
        raise ValueError(f"correct={correct} must lie in 0..total={total}")
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = correct / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_interval(correct: int, total: int, confidence: float = 0.95) -> Accuracy:
    """:class:`Accuracy` of ``correct`` out of ``total`` with its Wilson interval."""
    low, high = wilson_interval(correct, total, confidence)
    return Accuracy(int(correct), int(total), correct / total, low, high, confidence)


def confusion_matrix(targets: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """``[num_classes, num_classes]`` counts: row = true class, column = predicted class."""
    targets = np.asarray(targets, dtype=np.int64).ravel()
    predictions = np.asarray(predictions, dtype=np.int64).ravel()
    if targets.shape != predictions.shape:
        raise ValueError(f"{targets.size} targets but {predictions.size} predictions")
    for name, values in (("targets", targets), ("predictions", predictions)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} must lie in 0..{num_classes - 1}, found {values.min()}..{values.max()}")
    counts = np.bincount(targets * num_classes + predictions, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


@torch.no_grad()
def predict(model: nn.Module, dataset: Dataset, device: torch.device | str = "cpu", batch_size: int = 256) -> np.ndarray:
    """Predicted class of every item of ``dataset`` (argmax of the logits over dim 1), model in eval mode."""
    split = as_array_split(dataset)
    was_training = model.training
    model.eval()
    outputs = []
    try:
        for start in range(0, len(split), batch_size):
            index = torch.arange(start, min(start + batch_size, len(split)))
            x, _ = split.batch(index)
            outputs.append(model(x.to(device)).argmax(dim=1).cpu())
    finally:
        model.train(was_training)
    return torch.cat(outputs).numpy() if outputs else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Evaluation:
    """A classifier on one split: its :class:`Accuracy` and confusion matrix (rows true, columns predicted)."""

    accuracy: Accuracy
    confusion: np.ndarray


def evaluate_classifier(
    model: nn.Module, dataset: Dataset, num_classes: int, device: torch.device | str = "cpu", batch_size: int = 256
) -> Evaluation:
    """Accuracy (Wilson 95 % interval) and confusion matrix of ``model`` on ``dataset``.

    For segmentation targets ``[N, H, W]`` every pixel counts as one trial (pixel accuracy), except
    those labelled :data:`SEGMENTATION_IGNORE_INDEX`.
    """
    split = as_array_split(dataset)
    predictions = predict(model, split, device, batch_size)
    targets = split.y.numpy()
    keep = counted(targets)
    targets, predictions = targets[keep], predictions[keep]
    correct = int((predictions == targets).sum())
    return Evaluation(accuracy_interval(correct, targets.size), confusion_matrix(targets, predictions, num_classes))


@dataclass(frozen=True)
class SeedSummary:
    """Mean of one figure over ``n`` seeds with the t-interval half width (NaN for one seed)."""

    mean: float
    half_width: float
    n: int
    confidence: float = 0.95

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> SeedSummary:
    """Mean of ``values`` +- Student-t half width ``t_{(1+c)/2, n-1} * s / sqrt(n)``."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("mean_interval needs at least one value")
    if data.size == 1:
        return SeedSummary(float(data[0]), float("nan"), 1, confidence)
    t = stats.t.ppf(0.5 + confidence / 2, data.size - 1)
    half = float(t * data.std(ddof=1) / math.sqrt(data.size))
    return SeedSummary(float(data.mean()), half, int(data.size), confidence)
