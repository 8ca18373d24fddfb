"""ArchConfig: the classification / segmentation union, its errors, and the flat form older configs and checkpoints hold."""

from __future__ import annotations

import json
from importlib import resources

import pydantic
import pytest
import torch
import yaml

from osclc.models.data.spec import load_dataset
from osclc.models.networks.architecture import (
    CLASSIFICATION_VARIANTS,
    SEGMENTATION_VARIANTS,
    ArchConfig,
    ClassificationArch,
    SegmentationArch,
    build_model,
)
from osclc.models.networks.segmentation_arch import FLAT_FORM_DEFAULTS
from osclc.models.training.checkpoints import (
    META,
    CheckpointError,
    CheckpointMeta,
    load_checkpoint,
    save_checkpoint,
)
from osclc.models.training.config import TrainConfig
from osclc.models.training.trainer import train_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARCH = pydantic.TypeAdapter(ArchConfig)

# meta.json "arch" of checkpoints written by the flat ArchConfig (commit f42e52d), verbatim
FLAT_SCLC_UNET = {
    "variant": "sclc_unet", "channels": [2, 4], "kernel_size": None, "strides": None, "pools": None, "head_hidden": None,
    "detector": "intensity", "backend": "linear", "hidden": 128, "spectral_kernel": "spatial", "nyquist": "keep", "pad": None,
}
FLAT_TEACHER = {
    "variant": "teacher", "channels": [4, 4], "kernel_size": None, "strides": None, "pools": [1, 2], "head_hidden": None,
    "detector": "intensity", "backend": "linear", "hidden": 128, "spectral_kernel": "spatial", "nyquist": "keep", "pad": None,
}
# a value different from the flat form's default for every classification-only field
CLASSIFICATION_ONLY = {
    "strides": [1, 1], "pools": [2, 2], "head_hidden": [8], "backend": "mlp", "hidden": 64, "spectral_kernel": "free", "pad": 32,
}


def test_variant_selects_the_member() -> None:
    assert CLASSIFICATION_VARIANTS == ("teacher", "sq_teacher", "sclc", "sclc_maxpool", "backend_only")
    assert SEGMENTATION_VARIANTS == ("unet", "sclc_unet")
    for variant in CLASSIFICATION_VARIANTS:
        assert ARCH.validate_python({"variant": variant}) == ClassificationArch(variant=variant)  # type: ignore[arg-type]
    for variant in SEGMENTATION_VARIANTS:
        assert ARCH.validate_python({"variant": variant}) == SegmentationArch(variant=variant)  # type: ignore[arg-type]
    assert ARCH.validate_python({}) == ClassificationArch() == TrainConfig().arch  # no variant: the sclc student
    assert ClassificationArch().variant == "sclc"
    arch = SegmentationArch(variant="unet", channels=[4, 8])
    assert ARCH.validate_python(arch) is arch and TrainConfig(arch=arch).arch == arch


def test_a_unet_refuses_every_classification_field_by_name() -> None:
    assert set(CLASSIFICATION_ONLY) == set(ClassificationArch.model_fields) - set(SegmentationArch.model_fields)
    for key, value in CLASSIFICATION_ONLY.items():
        with pytest.raises(pydantic.ValidationError) as info:
            TrainConfig.model_validate({"arch": {"variant": "sclc_unet", key: value}})
        assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(("arch", "segmentation", key), "extra_forbidden")]


def test_field_errors_name_the_member_and_the_field() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        TrainConfig.model_validate({"arch": {"variant": "unet", "kernel_size": 4, "channels": [8]}})
    problems = {e["loc"]: e["msg"] for e in info.value.errors()}
    assert set(problems) == {("arch", "segmentation", "kernel_size"), ("arch", "segmentation", "channels")}
    assert "odd" in problems[("arch", "segmentation", "kernel_size")] and "use 5" in problems[("arch", "segmentation", "kernel_size")]
    with pytest.raises(pydantic.ValidationError, match="kernel_size=4 must be odd"):
        SegmentationArch(variant="sclc_unet", kernel_size=4)


@pytest.mark.parametrize("arch", [{"variant": "resnet"}, {"variant": None}, "sclc", 3])
def test_unknown_variant_or_no_mapping_lists_every_variant(arch: object) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        TrainConfig.model_validate({"arch": arch})
    (error,) = info.value.errors()
    assert error["loc"] == ("arch",) and error["type"] == "arch_variant"
    assert all(variant in error["msg"] for variant in CLASSIFICATION_VARIANTS + SEGMENTATION_VARIANTS)


def test_flat_form_loads_as_the_member() -> None:
    assert FLAT_FORM_DEFAULTS == {k: v for k, v in FLAT_SCLC_UNET.items() if k not in SegmentationArch.model_fields}
    assert ARCH.validate_python(FLAT_SCLC_UNET) == SegmentationArch(variant="sclc_unet", channels=[2, 4])
    assert ARCH.validate_python(FLAT_TEACHER) == ClassificationArch(variant="teacher", channels=[4, 4], pools=[1, 2])
    assert ARCH.validate_python(FLAT_TEACHER).model_dump() == FLAT_TEACHER  # classification keeps the flat layout


def test_flat_form_checkpoint_loads_with_its_weights(tmp_path) -> None:
    torch.manual_seed(0)
    arch = SegmentationArch(variant="sclc_unet", channels=[2, 4])
    model = build_model(arch, 1, 16, 2).eval()
    meta = CheckpointMeta(arch=arch, in_channels=1, image_size=16, num_classes=2, task="segmentation")
    folder = save_checkpoint(tmp_path / "ckpt", model, meta)
    written = json.loads((folder / META).read_text(encoding="utf-8"))
    assert written["arch"] == {"variant": "sclc_unet", "channels": [2, 4], "kernel_size": None, "detector": "intensity", "nyquist": "keep"}
    (folder / META).write_text(json.dumps(written | {"arch": FLAT_SCLC_UNET}), encoding="utf-8")  # as saved before the union
    loaded, loaded_meta = load_checkpoint(folder, arch=arch)
    x = torch.rand(2, 1, 16, 16)
    assert loaded_meta.arch == arch and torch.equal(loaded(x), model(x))


def test_flat_form_checkpoint_resumes_training(tmp_path) -> None:
    spec = "shapes:binary,n=16,n_test=4"
    data = load_dataset(spec, image_size=16)
    config = TrainConfig(dataset=spec, image_size=16, epochs=2, batch_size=8, arch=SegmentationArch(variant="sclc_unet", channels=[2, 4]))
    train_model(config.model_copy(update={"epochs": 1}), data, checkpoint_dir=tmp_path, progress=False)
    meta_file = tmp_path / "last" / META
    written = json.loads(meta_file.read_text(encoding="utf-8"))
    written["train_config"]["arch"] = written["arch"] = FLAT_SCLC_UNET  # as saved before the union
    meta_file.write_text(json.dumps(written), encoding="utf-8")
    resumed = train_model(config, data, resume=tmp_path / "last", progress=False)
    assert [h.epoch for h in resumed.history] == [1, 2]
    with pytest.raises(CheckpointError, match=r"different training config \(seed: checkpoint 0 vs config 1\)"):
        train_model(config.model_copy(update={"seed": 1}), data, resume=tmp_path / "last", progress=False)


@pytest.mark.parametrize("name", ["train-teacher-digits", "train-student-digits", "train-teacher-shapes", "train-student-shapes"])
def test_shipped_train_configs_pick_their_member(name: str) -> None:
    data = yaml.safe_load(resources.files("osclc.configs").joinpath(f"{name}.yaml").read_text(encoding="utf-8"))
    arch = TrainConfig.model_validate(data).arch
    assert isinstance(arch, SegmentationArch if name.endswith("shapes") else ClassificationArch)
    assert arch.variant == data["arch"]["variant"]


def test_both_members_describe_every_field() -> None:
    for member in (ClassificationArch, SegmentationArch):
        for name, field in member.model_fields.items():
            assert field.description, f"{member.__name__}.{name}"
