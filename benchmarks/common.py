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


def time_interleaved(calls: dict[str, Callable[[], object]], repeat: int = 5, warmup: int = 1, sync: Callable[[], None] | None = None) -> dict[str, dict[str, float]]:
    """Time several calls in turns (A B C A B C ..., not A A A B B B), so that a change of machine load hits all alike.

    ``warmup`` untimed rounds, then ``repeat`` timed rounds; ``sync`` (e.g. ``torch.cuda.synchronize``)
    runs before and after every timed call. Per call: median, min and mean wall time in seconds.
    """
    for _ in range(warmup):
        for fn in calls.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, fn in calls.items():
            if sync:
                sync()
            start = time.perf_counter()
            fn()
            if sync:
                sync()
            times[name].append(time.perf_counter() - start)
    return {name: {"median_s": statistics.median(t), "min_s": min(t), "mean_s": statistics.fmean(t), "repeat": repeat} for name, t in times.items()}


def time_call(fn: Callable[[], object], repeat: int = 5, warmup: int = 1, sync: Callable[[], None] | None = None) -> dict[str, float]:
    """Run ``fn`` ``warmup`` + ``repeat`` times; median, min and mean wall time in seconds."""
    return time_interleaved({"call": fn}, repeat, warmup, sync)["call"]


def load_snapshot() -> dict[str, float]:
    """The machine's load now: 1-, 5- and 15-minute load averages (``os.getloadavg``) and the CPU count."""
    one, five, fifteen = os.getloadavg()
    return {"load_1min": one, "load_5min": five, "load_15min": fifteen, "cpu_count": os.cpu_count() or 1}


def load_verdict(snapshots: list[dict[str, float]], own_threads: int, allowed: bool) -> dict[str, Any]:
    """Whether figures taken between ``snapshots`` ran under heavy load.

    Heavy: at some snapshot the 1-minute load average beyond the benchmark's own ``own_threads``
    exceeds half the CPUs (other jobs then took a large share of the machine). ``allowed``
    (``--allow-load``) records the figures anyway; the verdict says so.
    """
    if not snapshots:
        raise ValueError("load_verdict: no load snapshots; take one with load_snapshot() before and after timing")
    cpus = max(int(s["cpu_count"]) for s in snapshots)
    excess = max(0.0, max(s["load_1min"] for s in snapshots) - own_threads)
    heavy = excess > 0.5 * cpus
    return {
        "rule": "heavy if the 1-min load average minus the benchmark's own threads exceeds 0.5 x CPUs at any snapshot",
        "cpu_count": cpus,
        "own_threads": own_threads,
        "limit": 0.5 * cpus,
        "excess_load": excess,
        "heavy": heavy,
        "recorded_under_heavy_load": heavy and allowed,
    }


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
