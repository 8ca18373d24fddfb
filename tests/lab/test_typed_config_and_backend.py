"""Typed seams of the lab: ``load_config`` with a literal kind is typed as that kind's model (one overload per
entry of ``KINDS``, checked here so a new kind cannot be forgotten), ``validate`` returns the model it is given,
and ``resolve_backend`` refuses a checkpoint without an electronic backend (a teacher) with a message naming it
(it used to raise torch's AttributeError)."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import torch

from osclc.configs import bundled
from osclc.lab.config.files import load_config, validate
from osclc.lab.config.kinds import KINDS
from osclc.lab.jobs.infer import resolve_backend
from osclc.models.layers.backend import Backend
from osclc.models.networks.architecture import ClassificationArch, build_model
from osclc.models.training.checkpoints import save_checkpoint
from osclc.models.training.config import TrainConfig


def test_load_config_has_one_overload_per_kind_typed_as_its_model():
    typed: dict[str, str] = {}
    for overload in typing.get_overloads(load_config):
        kind = overload.__annotations__["kind"]
        if kind.startswith("Literal["):
            typed[kind.removeprefix("Literal[").removesuffix("]").strip("'\"")] = overload.__annotations__["return"]
    assert typed == {kind: model.__name__ for kind, model in KINDS.items()}


def test_load_config_and_validate_return_the_kind_asked_for():
    assert type(load_config(bundled("bench-sim-ideal.yaml"), kind="bench")) is KINDS["bench"]
    assert type(load_config(bundled("train-teacher-digits.yaml"))) is TrainConfig
    assert type(validate({"epochs": 3}, TrainConfig)) is TrainConfig


def _checkpoint(folder: Path, arch: ClassificationArch) -> Path:
    torch.manual_seed(0)
    model = build_model(arch, 1, 8, 10).eval()
    return save_checkpoint(folder, model, {"arch": arch, "in_channels": 1, "image_size": 8, "num_classes": 10, "dataset": "digits"})


def test_resolve_backend_takes_a_students_backend_and_refuses_a_teacher(tmp_path):
    student = _checkpoint(tmp_path / "student", ClassificationArch(channels=[2], pools=[2]))
    backend, source = resolve_backend(tmp_path / "program", student, torch.device("cpu"))
    assert isinstance(backend, Backend) and source == f"student checkpoint {student}"
    teacher = _checkpoint(tmp_path / "teacher", ClassificationArch(variant="teacher", channels=[2], pools=[2]))
    with pytest.raises(ValueError, match=r"teacher: a teacher checkpoint \(\w+\) has no electronic backend to finish the program; "
                                         r"pass the SCLC student"):
        resolve_backend(tmp_path / "program", teacher, torch.device("cpu"))
