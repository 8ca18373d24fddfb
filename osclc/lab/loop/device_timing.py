"""Timing a computation on a torch device: synchronised CUDA events on a GPU, ``perf_counter_ns`` on the CPU."""

from __future__ import annotations

import time
from typing import Any, Callable

import torch


def timed_call(fn: Callable[[], Any], device: torch.device) -> tuple[Any, float]:
    """Run ``fn()`` and return ``(result, milliseconds)``.

    On CUDA the time is between two CUDA events recorded on the current stream around ``fn``, read
    after ``torch.cuda.synchronize`` (so it is the device's time, queued work included); elsewhere
    it is the host wall time.
    """
    if device.type == "cuda":
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        result = fn()
        end.record()
        torch.cuda.synchronize(device)
        return result, float(start.elapsed_time(end))
    t0 = time.perf_counter_ns()
    result = fn()
    return result, (time.perf_counter_ns() - t0) / 1e6


def repeat_timing(fn: Callable[[], Any], device: torch.device, repeat: int, warmup: int = 2) -> list[float]:
    """Milliseconds of ``repeat`` calls of ``fn`` after ``warmup`` untimed ones (CUDA events on a GPU)."""
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    for _ in range(warmup):
        timed_call(fn, device)
    return [timed_call(fn, device)[1] for _ in range(repeat)]
