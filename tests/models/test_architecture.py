"""ClassificationArch validation, default plans, and the networks build_model returns."""

from __future__ import annotations

import pydantic
import pytest
import torch

from osclc.models.networks.architecture import build_model
from osclc.models.networks.classification_arch import ClassificationArch, resolve_plan
from osclc.models.networks.frontend import MaxPoolFrontend, SpectralFrontend
from osclc.models.networks.plan import ALEXNET, default_plan
from osclc.models.networks.sclc import SCLC
from osclc.models.networks.teachers import AlexNetTeacher, Square, teacher_map_sizes

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def test_config_is_strict() -> None:
    with pytest.raises(pydantic.ValidationError):
        ClassificationArch(variant="sclc", depth=3)  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError, match="odd"):
        ClassificationArch(kernel_size=4)
    with pytest.raises(pydantic.ValidationError):
        ClassificationArch(variant="resnet")  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError):
        ClassificationArch(channels=[0, 8])
    assert ClassificationArch().variant == "sclc" and ClassificationArch().detector == "intensity"


def test_every_field_is_described() -> None:
    for name, field in ClassificationArch.model_fields.items():
        assert field.description, name


def test_default_plans_scale_with_input_size() -> None:
    assert default_plan(8).name == "tiny" and default_plan(32).name == "small"
    assert default_plan(96).name == "medium" and default_plan(224) is ALEXNET
    assert teacher_map_sizes(ALEXNET, 224) == [27, 13, 13, 13, 6]  # the real AlexNet's maps
    for size in (8, 28, 32, 64, 96, 160, 224, 512):
        teacher_map_sizes(default_plan(size), size)  # no block shrinks a map to nothing


def test_plan_overrides() -> None:
    plan = resolve_plan(ClassificationArch(channels=[4, 8, 8], kernel_size=5), 8)
    assert [layer.channels for layer in plan.layers] == [4, 8, 8]
    assert [layer.kernel for layer in plan.layers] == [5, 5, 5]
    assert [layer.pool for layer in plan.layers] == [2, 2, 1]  # stops pooling below 4 pixels
    with pytest.raises(ValueError, match="pools"):
        resolve_plan(ClassificationArch(channels=[4, 8], pools=[2]), 8)
    with pytest.raises(ValueError, match="strides"):
        resolve_plan(ClassificationArch(strides=[1, 1, 1]), 8)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("variant", ["teacher", "sq_teacher", "sclc", "sclc_maxpool", "backend_only"])
def test_every_variant_builds_and_runs(variant: str, device: str) -> None:
    torch.manual_seed(0)
    model = build_model(ClassificationArch(variant=variant), 1, 8, 10).to(device)  # type: ignore[arg-type]
    x = torch.rand(5, 1, 8, 8, device=device)
    logits = model(x)
    assert logits.shape == (5, 10) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_teachers_activations() -> None:
    relu = build_model(ClassificationArch(variant="teacher"), 3, 32, 10)
    square = build_model(ClassificationArch(variant="sq_teacher"), 3, 32, 10)
    assert isinstance(relu, AlexNetTeacher) and isinstance(square, AlexNetTeacher)
    assert any(isinstance(m, torch.nn.ReLU) for m in relu.features) and not any(isinstance(m, Square) for m in relu.features)
    assert any(isinstance(m, Square) for m in square.features) and not any(isinstance(m, torch.nn.ReLU) for m in square.features)


def test_alexnet_teacher_and_student_at_224() -> None:
    teacher = build_model(ClassificationArch(variant="teacher"), 3, 224, 10)
    convs = [m for m in teacher.features if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [(64, 11, 4), (192, 5, 1), (384, 3, 1), (256, 3, 1), (256, 3, 1)]
    assert teacher.head[1].in_features == 256 * 6 * 6 and teacher.head[1].out_features == 4096
    student = build_model(ClassificationArch(), 3, 224, 10)
    assert isinstance(student, SCLC) and isinstance(student.frontend, SpectralFrontend)
    # support 224 + 10*1 + 4*8 + 2*16*3 = 362 -> multiple of 32, 5-smooth: 384; grid 384/32 = 12
    assert student.frontend.pad == 384 and student.frontend.out_size == 12
    assert student.backend.head.in_features == 256 * 12 * 12


def test_student_structure_and_detector_channels() -> None:
    student = build_model(ClassificationArch(detector="field", backend="mlp", hidden=16), 1, 8, 10)
    assert isinstance(student, SCLC)
    assert student.features(torch.rand(2, 1, 8, 8)).shape == (2, 64, 8, 8)  # 32 channels x (Re, Im), P = 16 / 2
    assert student.backend.gain.shape == (64,) and student.backend.offset.shape == (64,)
    maxpool = build_model(ClassificationArch(variant="sclc_maxpool"), 1, 8, 10)
    assert isinstance(maxpool.frontend, MaxPoolFrontend)
    assert maxpool.features(torch.rand(2, 1, 8, 8)).shape == (2, 32, 4, 4)  # the teacher's map sizes


def test_linear_detector_makes_the_student_one_affine_map() -> None:
    """detector none + linear backend: f(x + y) + f(0) = f(x) + f(y); intensity breaks it."""
    torch.manual_seed(1)
    x, y, zero = torch.rand(3, 1, 8, 8, dtype=torch.float64), torch.rand(3, 1, 8, 8, dtype=torch.float64), torch.zeros(3, 1, 8, 8, dtype=torch.float64)
    linear = build_model(ClassificationArch(detector="none"), 1, 8, 10).double()
    assert torch.allclose(linear(x + y) + linear(zero), linear(x) + linear(y), atol=1e-10)
    square = build_model(ClassificationArch(detector="intensity"), 1, 8, 10).double()
    assert not torch.allclose(square(x + y) + square(zero), square(x) + square(y), atol=1e-6)


def test_build_model_refuses_bad_sizes() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        build_model(ClassificationArch(), 1, 8, 0)
    with pytest.raises(ValueError, match="shrinks"):
        build_model(ClassificationArch(variant="teacher", channels=[4, 4, 4, 4], pools=[2, 2, 2, 2]), 1, 8, 10)
    with pytest.raises(ValueError, match="pad"):
        build_model(ClassificationArch(pad=15), 1, 8, 10)  # wrap-free needs P >= 8 + 2 + 2 * 2, even
    with pytest.raises(ValueError, match="variant 'sclc' only"):
        build_model(ClassificationArch(variant="sclc_maxpool", spectral_kernel="free"), 1, 8, 10)
    free = build_model(ClassificationArch(spectral_kernel="free", pad=20), 1, 8, 10)
    assert free.frontend.pad == 20 and free(torch.rand(2, 1, 8, 8)).shape == (2, 10)
