"""Choice of the torch device: CUDA when there is one, the CPU otherwise, or what the user names."""

from __future__ import annotations

import torch


def select_device(name: str | None = None) -> torch.device:
    """The device to compute on: ``name`` (``cpu``, ``cuda``, ``cuda:1``, ``auto``/None = CUDA if present).

    Raises ValueError naming the device when ``name`` asks for CUDA and none is available.
    """
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"--device: {name!r} is not a torch device; use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device: {name!r} asked for CUDA but this machine has no CUDA device; use cpu or auto")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"--device: {name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    return device
