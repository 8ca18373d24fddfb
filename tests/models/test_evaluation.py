"""Accuracy intervals and confusion matrices against closed forms and hand counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from osclc.models.data.arrays import ArraySplit
from osclc.models.training.evaluation import (
    accuracy_interval,
    confusion_matrix,
    evaluate_classifier,
    mean_interval,
    wilson_interval,
)


def test_wilson_interval_matches_closed_form():
    # Wilson (1927) for 8 of 10 with z = 1.959964 (95 %): centre and half width written out by hand
    z = 1.959963984540054
    p, n = 0.8, 10
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(centre - half, abs=1e-12) and high == pytest.approx(centre + half, abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)  # the published table value for 8/10
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0, abs=1e-12) and low == pytest.approx(10 / (10 + z**2), abs=1e-12)
    with pytest.raises(ValueError):
        wilson_interval(3, 0)
    assert str(accuracy_interval(8, 10)).startswith("80.00 % [49.02, 94.33]")


def test_t_interval_over_seeds():
    summary = mean_interval([0.90, 0.92, 0.94])
    t_975_df2 = 4.302652729911275  # Student-t quantile, from tables
    assert summary.mean == pytest.approx(0.92)
    assert summary.half_width == pytest.approx(t_975_df2 * 0.02 / math.sqrt(3))
    single = mean_interval([0.5])
    assert single.mean == 0.5 and math.isnan(single.half_width)


def test_confusion_matrix_and_classifier_evaluation():
    targets = np.array([0, 0, 1, 2, 2, 2])
    predictions = np.array([0, 1, 1, 2, 0, 2])
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert np.array_equal(confusion_matrix(targets, predictions, 3), expected)
    with pytest.raises(ValueError, match="predictions must lie in 0..2"):
        confusion_matrix(targets, predictions + 1, 3)

    class Fixed(nn.Module):
        """Predicts class int(x[0, 0, 0] * 10) for each image."""

        def forward(self, x):
            return nn.functional.one_hot((x[:, 0, 0, 0] * 10).round().long(), 3).float()

    images = torch.tensor(predictions, dtype=torch.float32).view(-1, 1, 1, 1) / 10
    result = evaluate_classifier(Fixed(), ArraySplit(images, torch.tensor(targets)), 3, batch_size=4)
    assert result.accuracy.correct == 4 and result.accuracy.total == 6
    assert np.array_equal(result.confusion, expected)
