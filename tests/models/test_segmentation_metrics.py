"""Segmentation metrics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from osclc.models.training.segmentation_metrics import ConfusionMatrix, format_scores, segmentation_scores

# 2 x 3 image, 255 = ignore. Valid pixels: 5, of which 4 are right.
TARGET = torch.tensor([[[0, 0, 1], [1, 2, 255]]])
PRED = torch.tensor([[[0, 1, 1], [1, 2, 0]]])
# class 0: inter 1, |pred| 1 (the ignored pixel does not count), |target| 2 -> IoU 1/2, Dice 2/3
# class 1: inter 2, |pred| 3, |target| 2 -> IoU 2/3, Dice 4/5
# class 2: inter 1, |pred| 1, |target| 1 -> IoU 1, Dice 1
IOU = [1 / 2, 2 / 3, 1.0]
DICE = [2 / 3, 4 / 5, 1.0]


def test_hand_computed_example():
    scores = segmentation_scores(PRED, TARGET, num_classes=3)
    assert scores["pixel_accuracy"] == pytest.approx(4 / 5)
    assert scores["mean_iou"] == pytest.approx(sum(IOU) / 3)
    assert scores["dice"] == pytest.approx(sum(DICE) / 3)


def test_absent_class_is_skipped_not_zero():
    matrix = ConfusionMatrix(4)
    matrix.update(PRED, TARGET)
    assert math.isnan(float(matrix.iou_per_class()[3]))
    assert matrix.mean_iou() == pytest.approx(sum(IOU) / 3)
    assert matrix.iou_per_class()[:3].tolist() == pytest.approx(IOU)
    assert matrix.dice_per_class()[:3].tolist() == pytest.approx(DICE)


def test_logits_and_accumulation_over_batches():
    logits = torch.nn.functional.one_hot(PRED.clamp(max=2), 3).permute(0, 3, 1, 2).float()
    matrix = ConfusionMatrix(3)
    matrix.update(logits, TARGET)
    matrix.update(logits, TARGET)
    assert int(matrix.matrix.sum()) == 10
    assert matrix.summary() == pytest.approx(segmentation_scores(PRED, TARGET, 3))


def test_from_counts_matches_update():
    reference = ConfusionMatrix(3)
    reference.update(PRED, TARGET)
    counts = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 1]])
    assert torch.equal(reference.matrix, torch.as_tensor(counts))
    assert ConfusionMatrix.from_counts(counts).summary() == pytest.approx(reference.summary())
    assert format_scores({"mean_iou": 0.5}) == "mean IoU 50.00 %"


def test_bad_inputs_are_refused():
    matrix = ConfusionMatrix(3)
    with pytest.raises(ValueError, match="outside"):
        matrix.update(torch.tensor([[[0]]]), torch.tensor([[[7]]]))
    with pytest.raises(ValueError, match="shape"):
        matrix.update(torch.zeros(1, 2, 2, dtype=torch.long), torch.zeros(1, 3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="at least 2"):
        ConfusionMatrix(1)
    with pytest.raises(ValueError, match="square"):
        ConfusionMatrix.from_counts(np.zeros((2, 3)))
