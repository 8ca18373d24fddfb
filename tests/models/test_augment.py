"""Random-shift augmentation: each image moved by an integer (dy, dx) in -s..s with zero fill."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from osclc.models.data.augment import random_shift


def _shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Independent reference: ``image`` [C, H, W] moved down by dy and right by dx, zero fill."""
    out = np.zeros_like(image)
    h, w = image.shape[1:]
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[:, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)]
    return out


def test_every_image_is_one_of_the_allowed_shifts_and_all_occur():
    torch.manual_seed(3)
    x = torch.rand(200, 2, 5, 6) + 0.1  # no zeros inside, so each shift is recognisable
    out = random_shift(x, 1).numpy()
    seen = set()
    for image, moved in zip(x.numpy(), out):
        matches = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if np.array_equal(moved, _shifted(image, dy, dx))]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) == 9  # 200 draws from 9 equally likely shifts


def test_zero_shift_is_the_identity_and_the_draws_follow_the_seed():
    x = torch.rand(8, 1, 8, 8)
    assert random_shift(x, 0) is x
    torch.manual_seed(0)
    a = random_shift(x, 2)
    torch.manual_seed(0)
    assert torch.equal(a, random_shift(x, 2))
    with pytest.raises(ValueError, match="max_shift=-1"):
        random_shift(x, -1)
