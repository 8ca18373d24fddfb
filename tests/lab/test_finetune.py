"""Backend fine-tuning on camera-like features: the affine fit against numpy.polyfit, and recovery of accuracy."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from osclc.lab.jobs.finetune import finetune_backend, fit_channel_affine
from osclc.models.layers.backend import Backend


def test_channel_affine_matches_polyfit():
    rng = np.random.default_rng(0)
    cam = rng.normal(size=(20, 3, 4, 4))
    dig = np.stack([2.0 * cam[:, 0] + 1.0, -0.5 * cam[:, 1] + 3.0, 0.0 * cam[:, 2] + 7.0], axis=1)
    dig += rng.normal(scale=0.01, size=dig.shape)
    gain, offset = fit_channel_affine(cam, dig)
    for c in range(3):
        slope, intercept = np.polyfit(cam[:, c].ravel(), dig[:, c].ravel(), 1)
        assert np.isclose(gain[c], slope) and np.isclose(offset[c], intercept)


def _task(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    labels = rng.integers(0, 4, size=n)
    feats = centres[labels] + 0.3 * rng.normal(size=(n, 2, 3, 3)).astype(np.float32)
    return feats.astype(np.float32), labels


def test_finetuning_recovers_accuracy_lost_to_a_distorting_camera():
    rng = np.random.default_rng(1)
    torch.manual_seed(0)
    digital, labels = _task(600, rng)
    backend = Backend(2, 3, 3, 4)
    opt = torch.optim.Adam(backend.parameters(), lr=0.05)
    x, y = torch.from_numpy(digital), torch.from_numpy(labels)
    for _ in range(150):
        opt.zero_grad()
        nn.functional.cross_entropy(backend(x), y).backward()
        opt.step()
    digital_acc = float((backend(x).argmax(1) == y).float().mean())
    trained_gain = backend.gain.detach().clone()
    # the camera: per-channel scale and background, noise, and one lost frame (NaN)
    camera = digital * np.array([0.2, 3.0], dtype=np.float32)[None, :, None, None] + np.array([4.0, -2.0], dtype=np.float32)[None, :, None, None]
    camera = camera + 0.05 * rng.normal(size=camera.shape).astype(np.float32)
    camera[7] = np.nan
    train, val = slice(0, 400), slice(400, 600)
    result = finetune_backend(
        backend, camera[train], labels[train], camera[val], labels[val], digital_train_features=digital[train], epochs=30
    )
    assert digital_acc > 0.9
    assert result.val_accuracy_before < digital_acc - 0.2  # the camera really hurt
    assert result.val_accuracy_after >= digital_acc - 0.05  # and fine-tuning won it back
    assert torch.equal(backend.gain, trained_gain)  # the original backend is untouched
