"""Checkpoints without pickle: a folder of safetensors weights and JSON metadata.

Layout of a checkpoint folder::

    meta.json            format, architecture (ArchConfig), dataset spec, input size, channels,
                         classes, task, epoch, metrics, training config, teacher identity, and the
                         SHA-256 of every other file in the folder
    model.safetensors    the model's state_dict (tensors only; complex tensors are stored as such)
    resume.safetensors   (optional) optimiser state tensors, for ``--resume``
    resume.json          (optional) optimiser param groups, completed epochs, epoch history

Loading rebuilds the model with :func:`osclc.models.networks.architecture.build_model` from the metadata
and refuses, with a :class:`CheckpointError` naming the file and the reason: a missing or
unreadable file, a file whose hash differs from ``meta.json`` (corrupt or edited), weights that
do not fit the architecture, or a checkpoint made for another architecture, input size, channel
count or number of classes than the caller expects.

Saving writes a temporary folder beside the target and swaps it in as a whole
(:func:`osclc.storage.save_folder`), so a process killed at any moment leaves the previous checkpoint
or the new one, never none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from osclc.models.networks.architecture import ArchConfig, build_model
from osclc.storage import recover, save_folder, save_json, save_safetensors, save_text, sha256_file

FORMAT: Final = "osclc-checkpoint"
VERSION = 1
META = "meta.json"
WEIGHTS = "model.safetensors"
RESUME_TENSORS = "resume.safetensors"
RESUME_JSON = "resume.json"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the reason."""


class CheckpointMeta(BaseModel):
    """What a checkpoint was trained as and on (``meta.json``)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["osclc-checkpoint"] = FORMAT
    version: int = Field(VERSION, ge=1, description="checkpoint format version")
    arch: ArchConfig = Field(description="architecture the weights belong to")
    in_channels: int = Field(ge=1, description="input channels")
    image_size: int = Field(ge=1, description="square input size (pixels)")
    num_classes: int = Field(ge=1, description="number of classes (logits per image or pixel)")
    task: Literal["classification", "segmentation"] = "classification"
    dataset: str = Field("", description="dataset spec the model was trained on")
    class_names: list[str] = Field(default_factory=list)
    epoch: int = Field(0, ge=0, description="completed training epochs")
    metrics: dict[str, float | None] = Field(default_factory=dict, description="figures at this epoch (fractions)")
    train_config: dict[str, Any] | None = Field(None, description="the TrainConfig that produced it")
    teacher: dict[str, Any] | None = Field(None, description="teacher checkpoint used for KD: path and sha256")
    hashes: dict[str, str] = Field(default_factory=dict, description="file name -> SHA-256 of the other files")
    created_utc: str = ""
    torch_version: str = ""


@dataclass
class ResumeState:
    """What continues training exactly where it stopped: optimiser state, completed epochs, history.

    The training loop draws its randomness from seeds derived from (seed, epoch, rank) at every
    epoch start, so no RNG state needs to be stored.
    """

    epoch: int
    optimizer: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=dict)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel / DataParallel wrapper (or the model itself)."""
    return getattr(model, "module", model)


def _plain_tensors(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items() if isinstance(v, torch.Tensor)}


def _optimizer_to_files(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{name}"] = value.detach().to("cpu").contiguous().clone()
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _optimizer_from_files(tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    for index, values in info.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(values)
    # JSON turns tuples (Adam's betas) into lists; give them back as the optimisers create them
    groups = [
        {k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in group.items()}
        for group in info["param_groups"]
    ]
    return {"state": state, "param_groups": groups}


def save_checkpoint(
    path: str | Path, model: nn.Module, meta: CheckpointMeta | Mapping[str, object], resume: ResumeState | None = None
) -> Path:
    """Write ``model`` (unwrapped from DDP) with ``meta`` (and ``resume`` state) as the folder ``path``.

    ``meta`` is a :class:`CheckpointMeta` or a mapping of its fields (``arch``, ``in_channels``,
    ``image_size``, ``num_classes`` required); ``hashes``, ``created_utc`` and ``torch_version`` are filled in.
    """
    if not isinstance(meta, CheckpointMeta):
        try:
            meta = CheckpointMeta.model_validate(meta)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise CheckpointError(f"{path}: invalid checkpoint metadata ({problems})") from None
    path = Path(path)
    with save_folder(path) as tmp:  # swapped in whole: a kill leaves the previous checkpoint or this one
        save_safetensors(tmp / WEIGHTS, _plain_tensors(unwrap(model).state_dict()))
        if resume is not None:
            tensors, info = _optimizer_to_files(resume.optimizer)
            save_safetensors(tmp / RESUME_TENSORS, tensors)
            info.update(epoch=resume.epoch, history=resume.history, best=resume.best)
            save_json(tmp / RESUME_JSON, info, indent=1)
        hashes = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
        final = meta.model_copy(
            update={
                "hashes": hashes,
                "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "torch_version": torch.__version__,
            }
        )
        save_text(tmp / META, final.model_dump_json(indent=2))
    return path


def checkpoint_folder(path: str | Path) -> Path:
    """The checkpoint folder for ``path`` (the folder itself, or a file inside it such as meta.json)."""
    path = Path(path)
    if path.is_file() and path.name in (META, WEIGHTS, RESUME_JSON, RESUME_TENSORS):
        path = path.parent
    recover(path)  # put the folder back if a kill interrupted its swap
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint; give a checkpoint folder (it holds {META} and {WEIGHTS})")
    if not (path / META).is_file():
        raise CheckpointError(f"{path}: not a checkpoint folder ({META} is missing)")
    return path


def read_meta(path: str | Path) -> CheckpointMeta:
    """The validated ``meta.json`` of a checkpoint (no weights loaded)."""
    meta_path = checkpoint_folder(path) / META
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{meta_path}: corrupt or unreadable metadata ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path}: not an osclc checkpoint (format must be {FORMAT!r})")
    try:
        return CheckpointMeta.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))!r}: {e['msg']}" for e in exc.errors())  # repr: a key may hold a newline
        raise CheckpointError(f"{meta_path}: invalid metadata ({problems})") from None


def _verified_tensors(folder: Path, name: str, meta: CheckpointMeta) -> dict[str, torch.Tensor]:
    file = folder / name
    if not file.is_file():
        raise CheckpointError(f"{file}: missing from the checkpoint")
    expected = meta.hashes.get(name)
    if expected is None:
        raise CheckpointError(f"{folder / META}: has no hash for {name}; the checkpoint was not written by osclc")
    if sha256_file(file) != expected:
        raise CheckpointError(f"{file}: SHA-256 differs from {META}; the file is corrupt or was modified")
    try:
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{file}: not a readable safetensors file ({exc})") from exc
    if bad := non_finite_tensors(tensors):
        raise CheckpointError(f"{file}: tensor(s) {', '.join(bad)} hold NaN or infinity (training diverged?); use another checkpoint")
    return tensors


def non_finite_tensors(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating / complex tensors of ``tensors`` that hold NaN or infinity."""
    return [name for name, t in tensors.items() if (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all())]


def check_compatible(
    meta: CheckpointMeta,
    source: str,
    arch: ArchConfig | None = None,
    image_size: int | None = None,
    in_channels: int | None = None,
    num_classes: int | None = None,
) -> None:
    """Refuse a checkpoint made for another architecture / input size / channels / classes than asked."""
    if arch is not None and arch != meta.arch:
        ours, theirs = arch.model_dump(), meta.arch.model_dump()
        diff = ", ".join(f"{k}: checkpoint {theirs[k]!r} vs asked {ours[k]!r}" for k in ours if ours[k] != theirs.get(k))
        raise CheckpointError(f"{source}: checkpoint is for another architecture ({diff})")
    for name, asked, have in (
        ("image_size", image_size, meta.image_size),
        ("channels", in_channels, meta.in_channels),
        ("num_classes", num_classes, meta.num_classes),
    ):
        if asked is not None and asked != have:
            raise CheckpointError(f"{source}: checkpoint was trained with {name}={have}, asked for {name}={asked}")


def load_checkpoint(
    path: str | Path,
    device: torch.device | str = "cpu",
    arch: ArchConfig | None = None,
    image_size: int | None = None,
    in_channels: int | None = None,
    num_classes: int | None = None,
) -> tuple[nn.Module, CheckpointMeta]:
    """Rebuild the model of a checkpoint folder with its weights; returns ``(model in eval mode, meta)``.

    ``arch`` / ``image_size`` / ``in_channels`` / ``num_classes``, when given, must match the
    checkpoint (:class:`CheckpointError` says which differs).
    """
    folder = checkpoint_folder(path)
    meta = read_meta(folder)
    check_compatible(meta, str(folder), arch, image_size, in_channels, num_classes)
    state = _verified_tensors(folder, WEIGHTS, meta)
    model = build_model(meta.arch, meta.in_channels, meta.image_size, meta.num_classes)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        summary = " ".join(str(exc).split())[:400]
        raise CheckpointError(f"{folder / WEIGHTS}: weights do not fit the architecture in {META} ({summary})") from exc
    return model.to(device).eval(), meta


def load_resume_state(path: str | Path) -> ResumeState:
    """The optimiser state, completed epochs and history saved with a checkpoint (for ``--resume``)."""
    folder = checkpoint_folder(path)
    meta = read_meta(folder)
    json_path = folder / RESUME_JSON
    if not json_path.is_file():
        raise CheckpointError(f"{folder}: holds no resume state ({RESUME_JSON}); resume from a run's checkpoints/last")
    if sha256_file(json_path) != meta.hashes.get(RESUME_JSON):
        raise CheckpointError(f"{json_path}: SHA-256 differs from {META}; the file is corrupt or was modified")
    info = json.loads(json_path.read_text(encoding="utf-8"))
    tensors = _verified_tensors(folder, RESUME_TENSORS, meta)
    optimizer = _optimizer_from_files(tensors, info)
    return ResumeState(int(info["epoch"]), optimizer, list(info.get("history", [])), dict(info.get("best", {})))
