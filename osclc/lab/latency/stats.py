"""Latency statistics from per-frame timestamps: percentiles, segments between boundaries, throughput.

All inputs are ``time.perf_counter_ns`` integers; all outputs are milliseconds or frames per second.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np


def percentile(values: Sequence[float] | np.ndarray, q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks.

    For sorted values ``v[0..n-1]`` the rank is ``r = q/100 * (n - 1)``; the result is
    ``v[floor r] + (r - floor r) * (v[ceil r] - v[floor r])`` (NumPy's default "linear" method).
    """
    data = sorted(float(v) for v in values)
    if not data:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    rank = q / 100.0 * (len(data) - 1)
    lo = math.floor(rank)
    hi = math.ceil(rank)
    return data[lo] + (rank - lo) * (data[hi] - data[lo])


@dataclass(frozen=True)
class LatencyStats:
    """Summary of one duration series, milliseconds."""

    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float

    def as_dict(self) -> dict[str, float]:
        """The fields as a plain dict (for JSON metrics)."""
        return asdict(self)


def summarize_ms(durations_ms: Iterable[float]) -> LatencyStats:
    """p50 / p95 / p99 / mean / min / max of a series of durations in milliseconds."""
    data = [float(v) for v in durations_ms]
    if not data:
        raise ValueError("no durations to summarise (no frame passed this stage)")
    return LatencyStats(
        count=len(data),
        p50_ms=percentile(data, 50),
        p95_ms=percentile(data, 95),
        p99_ms=percentile(data, 99),
        mean_ms=sum(data) / len(data),
        min_ms=min(data),
        max_ms=max(data),
    )


def segment_durations_ms(stamps: Sequence[Mapping[str, int]], boundaries: Sequence[str]) -> dict[str, list[float]]:
    """Durations between consecutive boundaries, per frame: ``{"a->b": [ms, ...]}``.

    A frame missing either boundary of a segment does not contribute to that segment.
    """
    out: dict[str, list[float]] = {}
    for a, b in zip(boundaries[:-1], boundaries[1:]):
        key = f"{a}->{b}"
        out[key] = [(s[b] - s[a]) / 1e6 for s in stamps if a in s and b in s]
    return out


def throughput_fps(done_ns: Sequence[int]) -> float:
    """Steady-state frames per second from completion times: ``(n - 1) / (last - first)``."""
    if len(done_ns) < 2:
        raise ValueError("throughput needs at least two completed frames")
    ordered = sorted(done_ns)
    span = ordered[-1] - ordered[0]
    if span <= 0:
        raise ValueError("completion times do not advance; throughput undefined")
    return (len(ordered) - 1) / (span / 1e9)


def stage_report(stamps: Sequence[Mapping[str, int]], boundaries: Sequence[str], start: str, end: str) -> dict[str, Any]:
    """Per-segment and end-to-end statistics plus throughput, as a JSON-ready dict."""
    segments = {k: summarize_ms(v).as_dict() for k, v in segment_durations_ms(stamps, boundaries).items() if v}
    total = [(s[end] - s[start]) / 1e6 for s in stamps if start in s and end in s]
    done = [s[end] for s in stamps if end in s]
    return {
        "segments": segments,
        "end_to_end": summarize_ms(total).as_dict(),
        "throughput_fps": throughput_fps(done) if len(done) >= 2 else None,
        "frames": len(total),
    }
