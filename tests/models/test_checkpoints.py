"""Checkpoints: exact round trip, optimiser state, and refusals that say which file and why."""

from __future__ import annotations

import json

import pytest
import torch

from osclc.models.networks.architecture import ClassificationArch, build_model
from osclc.models.training.checkpoints import (
    CheckpointError,
    CheckpointMeta,
    ResumeState,
    load_checkpoint,
    load_resume_state,
    read_meta,
    save_checkpoint,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model_and_meta(variant: str = "sclc", image_size: int = 8):
    torch.manual_seed(0)
    arch = ClassificationArch(variant=variant)
    model = build_model(arch, 1, image_size, 10)
    meta = CheckpointMeta(arch=arch, in_channels=1, image_size=image_size, num_classes=10, dataset="digits", epoch=3)
    return model, meta


def test_round_trip_is_exact(tmp_path):
    model, meta = _model_and_meta()
    path = save_checkpoint(tmp_path / "ckpt", model, meta)
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "model.safetensors"]
    loaded, loaded_meta = load_checkpoint(path)
    assert not loaded.training
    original = model.state_dict()
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, original[key]), key
    x = torch.rand(4, 1, 8, 8)
    model.eval()
    assert torch.equal(loaded(x), model(x))
    assert loaded_meta.epoch == 3 and loaded_meta.arch == meta.arch and loaded_meta.dataset == "digits"
    # saving again over it replaces it in place; metadata may be a plain dict
    save_checkpoint(path, model, meta.model_dump() | {"epoch": 4})
    assert read_meta(path).epoch == 4 and not list(tmp_path.glob(".ckpt*"))
    with pytest.raises(CheckpointError, match="invalid checkpoint metadata .*image_size"):
        save_checkpoint(path, model, {"arch": {"variant": "sclc"}, "in_channels": 1, "num_classes": 10})


def test_refuses_other_architecture_size_and_classes(tmp_path):
    model, meta = _model_and_meta()
    path = save_checkpoint(tmp_path / "ckpt", model, meta)
    with pytest.raises(CheckpointError, match="another architecture .*variant: checkpoint 'sclc' vs asked 'teacher'"):
        load_checkpoint(path, arch=ClassificationArch(variant="teacher"))
    with pytest.raises(CheckpointError, match="image_size=8, asked for image_size=16"):
        load_checkpoint(path, image_size=16)
    with pytest.raises(CheckpointError, match="num_classes=10, asked for num_classes=2"):
        load_checkpoint(path, num_classes=2)


def test_refuses_corrupt_files(tmp_path):
    model, meta = _model_and_meta()
    path = save_checkpoint(tmp_path / "ckpt", model, meta)
    weights = path / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="model.safetensors: SHA-256 differs"):
        load_checkpoint(path)
    save_checkpoint(path, model, meta)
    meta_json = json.loads((path / "meta.json").read_text())
    meta_json["arch"]["variant"] = "teacher"  # metadata no longer describes the weights
    (path / "meta.json").write_text(json.dumps(meta_json))
    with pytest.raises(CheckpointError, match="model.safetensors: weights do not fit the architecture"):
        load_checkpoint(path)
    (path / "meta.json").write_text('{"format": "osclc-checkpoint", "arch": ')
    with pytest.raises(CheckpointError, match="meta.json: corrupt or unreadable"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="meta.json is missing"):
        load_checkpoint(tmp_path / "empty")


def test_optimiser_state_round_trip(tmp_path):
    model, meta = _model_and_meta()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):
        optimizer.zero_grad()
        model(torch.rand(3, 1, 8, 8)).square().mean().backward()
        optimizer.step()
    history = [{"epoch": 1, "train_loss": 0.5}]
    path = save_checkpoint(tmp_path / "last", model, meta, ResumeState(2, optimizer.state_dict(), history, {"epoch": 1}))
    state = load_resume_state(path)
    assert state.epoch == 2 and state.history == history and state.best == {"epoch": 1}
    fresh = torch.optim.Adam(build_model(meta.arch, 1, 8, 10).parameters(), lr=1e-3)
    fresh.load_state_dict(state.optimizer)
    saved, restored = optimizer.state_dict(), fresh.state_dict()
    assert saved["param_groups"] == restored["param_groups"]
    for index, values in saved["state"].items():
        for name, value in values.items():
            assert torch.equal(restored["state"][index][name], value), (index, name)
    with pytest.raises(CheckpointError, match="holds no resume state"):
        load_resume_state(save_checkpoint(tmp_path / "best", model, meta))
