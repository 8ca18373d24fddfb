"""Digital baselines timed on the same device as the loop's backend: teacher CNN, SCLC layer by layer, SCLC folded."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from osclc.models.training.checkpoints import load_checkpoint
from osclc.models.folding import fold
from osclc.lab.loop.device_timing import repeat_timing
from osclc.lab.latency.stats import summarize_ms


@torch.no_grad()
def time_models(
    models: dict[str, Callable[[torch.Tensor], torch.Tensor]],
    example: torch.Tensor,
    device: torch.device,
    repeat: int = 50,
    batch: int = 16,
) -> dict[str, dict]:
    """Per-image latency (batch 1) and batched throughput of each model on ``device``.

    ``example`` is one input ``[1, C, H, W]``; each model is called ``repeat`` times at batch 1
    (p50/p95/p99/mean in ms) and ``max(3, repeat // 5)`` times at ``batch`` (images per second).
    GPU times come from synchronised CUDA events.
    """
    if example.ndim != 4 or example.shape[0] != 1:
        raise ValueError(f"baseline example must be one image [1, C, H, W], got shape {tuple(example.shape)}")
    one = example.to(device)
    many = one.expand(batch, *one.shape[1:]).contiguous()
    out: dict[str, dict] = {}
    for name, model in models.items():
        single = repeat_timing(lambda m=model: m(one), device, repeat)
        batched = repeat_timing(lambda m=model: m(many), device, max(3, repeat // 5))
        median_batch_ms = summarize_ms(batched).p50_ms
        out[name] = {
            "batch1": summarize_ms(single).as_dict(),
            "batch": batch,
            "throughput_fps": batch / (median_batch_ms / 1e3) if median_batch_ms > 0 else None,
        }
    return out


def load_baselines(
    teacher: str | Path | None, student: str | Path | None, device: torch.device
) -> tuple[dict[str, Callable[[torch.Tensor], torch.Tensor]], torch.Tensor | None]:
    """The digital baselines from checkpoint folders: ``teacher``, ``SCLC layer by layer``, ``SCLC folded``.

    Returns the models (on ``device``, eval mode) and one example input ``[1, C, S, S]`` of the
    checkpoints' size (uniform noise in [0, 1], seed 0); empty when no checkpoint is given.
    """
    models: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {}
    shape = None
    if teacher:
        model, meta = load_checkpoint(teacher, device=device)
        models["teacher"] = model
        shape = (1, meta.in_channels, meta.image_size, meta.image_size)
    if student:
        model, meta = load_checkpoint(student, device=device)
        models["SCLC layer by layer"] = model
        models["SCLC folded"] = fold(model).to(device).eval()
        shape = (1, meta.in_channels, meta.image_size, meta.image_size)
    example = torch.rand(shape, generator=torch.Generator().manual_seed(0)) if shape else None
    return models, example
