"""Bench time vs wall time of an inference run: what a real bench would reach, apart from the simulator's compute.

A simulated device runs its computation inside the device time it models and charges it to the clock's
simulation-compute account; what outlasts the device time lengthens the optical stage on this machine
(``sim_overrun_ns`` of each frame record, :mod:`osclc.lab.loop.frame_record`). The optical stage on the
bench itself is therefore ``optical.end - optical.start - sim_overrun_ns``; readout and backend are host
compute in both. Images/s of the pipelined loop are estimated from its bottleneck, the slowest stage's
median per frame (the backend's time per batch divided by the batch size).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from osclc.lab.latency.stats import percentile


def _stage_ms(stamps: Mapping[str, int], stage: str) -> float | None:
    start, end = stamps.get(f"{stage}.start"), stamps.get(f"{stage}.end")
    return None if start is None or end is None else (end - start) / 1e6


def _median(values: Sequence[float]) -> float:
    return percentile(values, 50) if values else 0.0


def device_time_report(records: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Per-frame medians (ms) of the optical stage in wall and bench time and of the simulator's compute, the
    bottleneck images/s in both, and the simulator's compute share of the optical stage's wall time (fraction)."""
    ok = [r for r in records if r.get("status") == "ok"]
    timed = [(v, r) for r in ok if (v := _stage_ms(r["stamps_ns"], "optical")) is not None]
    optical_wall = [v for v, _ in timed]
    optical_bench = [v - r.get("sim_overrun_ns", 0) / 1e6 for v, r in timed]
    compute = [r.get("sim_compute_ns", 0) / 1e6 for _, r in timed]
    readout = [v for v in (_stage_ms(r["stamps_ns"], "readout") for r in ok) if v is not None]
    backend = [v / (r.get("backend_batch") or 1) for r in ok if (v := _stage_ms(r["stamps_ns"], "backend")) is not None]
    host = max(_median(readout), _median(backend))

    def rate(optical_ms: float) -> float | None:
        slowest = max(optical_ms, host)
        return None if slowest <= 0 else 1e3 / slowest

    wall_ms, bench_ms = _median(optical_wall), _median(optical_bench)
    return {
        "optical_wall_p50_ms": wall_ms,
        "optical_bench_p50_ms": bench_ms,
        "sim_compute_p50_ms": _median(compute),
        "sim_compute_share": (sum(compute) / sum(optical_wall)) if sum(optical_wall) > 0 else 0.0,
        "images_per_s_bench": rate(bench_ms),
        "images_per_s_wall": rate(wall_ms),
    }
