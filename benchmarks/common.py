"""Shared pieces of the benchmarks: machine description, timing, and the JSON result file.

Every benchmark writes ``benchmarks/results/<name>.json`` holding the machine it ran on and
its figures, measured side by side in one run (ratios, not absolute promises).
"""

from __future__ import annotations

import os
import platform
import socket
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from osclc.storage import save_json

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info() -> dict[str, Any]:
    """Host, CPU, core count, memory, Python, numpy/torch versions and the CUDA device if any."""
    import numpy
    import torch

    info: dict[str, Any] = {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    try:
        with open("/proc/meminfo") as handle:
            info["memory_kib"] = int(handle.readline().split()[1])
    except OSError:
        pass
    return info


def time_call(fn: Callable[[], Any], repeat: int = 5, warmup: int = 1, sync: Callable[[], None] | None = None) -> dict[str, float]:
    """Run ``fn`` ``warmup`` + ``repeat`` times; median, min and mean wall time in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        if sync:
            sync()
        start = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "mean_s": statistics.fmean(times), "repeat": repeat}


def write_result(name: str, figures: dict[str, Any], out_dir: Path | None = None) -> Path:
    """Write ``<out_dir or benchmarks/results>/<name>.json`` atomically with the machine and UTC time; returns its path."""
    path = (out_dir or RESULTS) / f"{name}.json"
    payload = {
        "benchmark": name,
        "utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        **figures,
    }
    return save_json(path, payload)
