"""Training loop: learning, exact resume after an interruption, KD with a frozen teacher."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from osclc.models.training.checkpoints import CheckpointError, load_checkpoint
from osclc.models.data.arrays import ArraySplit
from osclc.models.data.spec import load_dataset
from osclc.models.training.config import TrainConfig
from osclc.models.training.trainer import learning_rate, train_model


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("digits")
    n = 480  # a subset keeps each epoch well under a second
    return dataclasses.replace(data, train=ArraySplit(data.train.images[:n], data.train.targets[:n]))


def _config(**updates) -> TrainConfig:
    base = {
        "arch": {"variant": "sclc", "detector": "intensity"},
        "optimiser": {"name": "adam", "lr": 3e-3, "schedule": "cosine"},
        "epochs": 2, "batch_size": 32, "seed": 1,
    }
    return TrainConfig.model_validate(base | updates)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_cosine_schedule():
    config = _config(optimiser={"name": "sgd", "lr": 0.1, "schedule": "cosine"}, epochs=4)
    assert [round(learning_rate(config.optimiser, e, 4), 6) for e in range(4)] == [0.1, 0.085355, 0.05, 0.014645]


def test_teacher_learns_and_checkpoints_every_epoch(digits, tmp_path):
    rows = []
    config = _config(arch={"variant": "teacher"}, epochs=4, optimiser={"name": "adam", "lr": 1e-2})
    result = train_model(config, digits, checkpoint_dir=tmp_path, on_epoch=rows.append, progress=False)
    assert [r.epoch for r in rows] == [1, 2, 3, 4]
    assert rows[-1].train_loss < rows[0].train_loss
    assert rows[-1].val_accuracy > 0.8  # 10 classes: chance is 0.1
    loaded, meta = load_checkpoint(tmp_path / "last")
    assert meta.epoch == 4 and _same_weights(loaded, result.model)
    assert (tmp_path / "best" / "meta.json").is_file()


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(digits, tmp_path):
    """Two epochs in one go == one epoch, 'killed', then resumed for the second (bit-identical)."""
    teacher = train_model(_config(arch={"variant": "teacher"}, epochs=1), digits, progress=False).model
    config = _config(epochs=2, kd={"alpha": 0.3, "temperature": 3.0}, augment_shift=1)  # shifts drawn per epoch too
    straight = train_model(config, digits, teacher=teacher, progress=False)
    first = train_model(config.model_copy(update={"epochs": 1}), digits, teacher=teacher,
                        checkpoint_dir=tmp_path / "a", progress=False)
    assert not _same_weights(first.model, straight.model)
    resumed = train_model(config, digits, teacher=teacher, resume=tmp_path / "a" / "last",
                          checkpoint_dir=tmp_path / "b", progress=False)
    assert _same_weights(resumed.model, straight.model)
    assert [h.epoch for h in resumed.history] == [1, 2]
    assert resumed.history[1].train_loss == pytest.approx(straight.history[1].train_loss, rel=1e-12)
    with pytest.raises(CheckpointError, match="resume with the same teacher"):
        train_model(config, digits, teacher=teacher, teacher_identity={"sha256": "f00"}, resume=tmp_path / "a" / "last")
    other = config.model_copy(update={"seed": 5})
    with pytest.raises(CheckpointError, match="different training config .*seed"):
        train_model(other, digits, teacher=teacher, resume=tmp_path / "a" / "last", progress=False)


def test_kd_keeps_the_teacher_frozen(digits):
    teacher = train_model(_config(arch={"variant": "teacher"}, epochs=1), digits, progress=False).model
    teacher.train()  # the loop must put it in eval mode itself
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    config = _config(epochs=1, kd={"alpha": 0.0, "temperature": 2.0})
    student = train_model(config, digits, teacher=teacher, progress=False).model
    assert not teacher.training
    assert all(torch.equal(v, before[k]) for k, v in teacher.state_dict().items())
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    # with alpha = 0 the student learns from the teacher's soft labels alone: it must agree with it
    x = digits.val.x
    agreement = (student(x).argmax(1) == teacher(x).argmax(1)).float().mean()
    assert agreement > 0.5
