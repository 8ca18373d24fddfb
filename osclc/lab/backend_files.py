"""The electronic backend stored beside an optical program: ``<program>/backend.safetensors`` + ``backend.json``.

``backend.json`` holds the :class:`~osclc.models.layers.backend.Backend` constructor arguments, where the
weights came from (``source``: ``student`` or ``finetune``), the figures that justify them and the
SHA-256 of the weights file; the weights are safetensors (no pickle).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from osclc.models.layers.backend import Backend
from osclc.models.training.checkpoints import non_finite_tensors
from osclc.storage import encode_json, encode_safetensors, recover, save_files, sha256_bytes, sha256_file

WEIGHTS = "backend.safetensors"
META = "backend.json"


class BackendFileError(ValueError):
    """A stored backend that cannot be used; the message names the file and the fix."""


def has_backend(program_dir: str | Path) -> bool:
    """True when ``program_dir`` holds a stored backend."""
    recover(Path(program_dir) / META)  # finish a save that a kill interrupted
    return (Path(program_dir) / META).is_file()


def save_backend(program_dir: str | Path, backend: Backend, info: dict[str, Any]) -> Path:
    """Write ``backend`` (weights + constructor arguments + ``info``) into ``program_dir``; returns the JSON path."""
    folder = Path(program_dir)
    weights = encode_safetensors(backend.state_dict())
    doc = {"config": backend.config(), "info": info, "sha256": sha256_bytes(weights)}
    save_files({folder / META: encode_json(doc), folder / WEIGHTS: weights})  # together: a kill leaves old or new
    return folder / META


def load_backend(program_dir: str | Path, device: torch.device | str = "cpu") -> tuple[Backend, dict[str, Any]]:
    """The backend stored in ``program_dir`` (eval mode) and its ``info``."""
    folder = Path(program_dir)
    meta, weights = folder / META, folder / WEIGHTS
    recover(meta)
    if not meta.is_file() or not weights.is_file():
        raise FileNotFoundError(f"{folder}: no stored backend ({META} + {WEIGHTS}); run `osclc finetune` or pass --student")
    try:
        doc = json.loads(meta.read_text())
        config, info, digest = doc["config"], dict(doc.get("info") or {}), doc.get("sha256")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackendFileError(f"{meta}: unreadable backend description ({exc!r}); run `osclc finetune` again") from exc
    if sha256_file(weights) != digest:
        raise BackendFileError(f"{weights}: does not match the hash in {meta} (edited or from another run); run `osclc finetune` again")
    try:
        tensors = load_file(str(weights))
        backend = Backend(**config)
        backend.load_state_dict(tensors, strict=True)
    except (SafetensorError, RuntimeError, TypeError, ValueError, OSError) as exc:
        raise BackendFileError(f"{weights}: weights do not fit {config} ({exc}); run `osclc finetune` again") from exc
    if bad := non_finite_tensors(tensors):
        raise BackendFileError(f"{weights}: tensor(s) {', '.join(bad)} hold NaN or infinity; run `osclc finetune` again")
    return backend.to(device).eval(), info
