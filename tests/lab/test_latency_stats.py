"""Latency statistics against NumPy's percentiles and hand-computed segments."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.lab.latency.stats import percentile, segment_durations_ms, stage_report, summarize_ms, throughput_fps


@pytest.mark.parametrize("n", [1, 2, 7, 100, 1001])
def test_percentiles_match_numpy(n):
    rng = np.random.default_rng(n)
    data = rng.lognormal(0.0, 1.0, size=n)
    for q in (0, 1, 50, 95, 99, 100):
        assert percentile(list(data), q) == pytest.approx(np.percentile(data, q), rel=1e-12)
    stats = summarize_ms(data)
    assert stats.p50_ms == pytest.approx(np.median(data))
    assert stats.mean_ms == pytest.approx(data.mean())
    assert stats.max_ms == data.max() and stats.count == n


def test_bad_percentile_input():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_segments_and_throughput():
    stamps = [
        {"a": 0, "b": 2_000_000, "c": 5_000_000},
        {"a": 10_000_000, "b": 11_000_000, "c": 15_000_000},
        {"a": 20_000_000, "c": 26_000_000},  # no "b": counts end to end, not in its segments
    ]
    seg = segment_durations_ms(stamps, ["a", "b", "c"])
    assert seg == {"a->b": [2.0, 1.0], "b->c": [3.0, 4.0]}
    assert throughput_fps([5_000_000, 15_000_000, 26_000_000]) == pytest.approx(2 / 0.021)
    report = stage_report(stamps, ["a", "b", "c"], "a", "c")
    assert report["end_to_end"]["p50_ms"] == pytest.approx(5.0)
    assert report["frames"] == 3
    with pytest.raises(ValueError):
        throughput_fps([1])
