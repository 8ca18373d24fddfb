"""The bytes of each saved-file format, so that every format is saved by the one mechanism of
:mod:`osclc.storage.atomic` (and can be hashed before it is written)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import numpy as np

if TYPE_CHECKING:  # torch is imported only when a tensor file is written
    import torch


class Figure(Protocol):
    """What :func:`encode_figure` needs of a figure (a matplotlib ``Figure``)."""

    def savefig(self, fname: BinaryIO, *, format: str, dpi: float | None) -> None: ...


def json_default(value: object) -> object:
    """JSON for the values the project stores besides plain JSON: NumPy scalars and arrays, paths, pydantic models."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"cannot store {type(value).__name__} in a JSON file; convert it to numbers, text, lists or dicts")


def encode_json(data: object, *, indent: int | None = 2, default: Callable[[object], object] = json_default) -> bytes:
    """UTF-8 JSON text of ``data`` (``default`` converts what :mod:`json` cannot)."""
    return json.dumps(data, indent=indent, default=default).encode("utf-8")


def encode_npz(arrays: Mapping[str, np.ndarray], *, compressed: bool = False) -> bytes:
    """A NumPy ``.npz`` archive of ``arrays`` (loadable with ``allow_pickle=False``)."""
    buffer = io.BytesIO()
    named: dict[str, Any] = {name: np.asarray(array) for name, array in arrays.items()}  # Any: NumPy's stubs type **kwds loosely
    (np.savez_compressed if compressed else np.savez)(buffer, **named)
    return buffer.getvalue()


def encode_npy(array: np.ndarray) -> bytes:
    """A NumPy ``.npy`` file of ``array`` (no pickle)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def encode_safetensors(tensors: Mapping[str, torch.Tensor]) -> bytes:
    """A safetensors file of ``tensors`` (moved to the CPU, made contiguous; no pickle)."""
    from safetensors.torch import save

    return save({name: t.detach().cpu().contiguous() for name, t in tensors.items()})


def encode_figure(figure: Figure, suffix: str, *, dpi: float | None = None) -> bytes:
    """The figure rendered in the format its file suffix names (``.png``, ``.pdf``, ``.svg``); ``dpi`` in dots per inch."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=suffix.lstrip(".").lower() or "png", dpi=dpi)
    return buffer.getvalue()
