"""Bench time vs wall time in the latency report (osclc.lab.latency.device_time), against hand computations."""

from __future__ import annotations

import pytest

from osclc.lab.latency.device_time import device_time_report

MS = 1_000_000


def _record(optical_ms: float, overrun_ms: float, compute_ms: float, readout_ms: float = 2.0, backend_ms: float = 4.0,
            batch: int = 2) -> dict:
    stamps = {"optical.start": 0, "optical.end": int(optical_ms * MS), "readout.start": 100 * MS,
              "readout.end": int((100 + readout_ms) * MS), "backend.start": 200 * MS, "backend.end": int((200 + backend_ms) * MS)}
    return {"status": "ok", "stamps_ns": stamps, "sim_overrun_ns": int(overrun_ms * MS),
            "sim_compute_ns": int(compute_ms * MS), "backend_batch": batch}


def test_bench_time_removes_only_the_overrun() -> None:
    records = [_record(19.5, 9.5, 12.0), _record(19.5, 9.5, 12.0), _record(19.5, 9.5, 12.0),
               {"status": "lost", "stamps_ns": {}}]
    report = device_time_report(records)
    assert report["optical_wall_p50_ms"] == pytest.approx(19.5)
    assert report["optical_bench_p50_ms"] == pytest.approx(10.0)
    assert report["sim_compute_p50_ms"] == pytest.approx(12.0)
    assert report["sim_compute_share"] == pytest.approx(12.0 / 19.5)
    assert report["images_per_s_bench"] == pytest.approx(100.0)
    assert report["images_per_s_wall"] == pytest.approx(1000 / 19.5)


def test_host_bottleneck_bounds_both_rates() -> None:
    report = device_time_report([_record(3.0, 1.0, 2.0, readout_ms=5.0, backend_ms=4.0, batch=1)])
    assert report["images_per_s_bench"] == pytest.approx(200.0) and report["images_per_s_wall"] == pytest.approx(200.0)


def test_real_hardware_records_have_no_overrun() -> None:
    record = _record(8.0, 0.0, 0.0)
    del record["sim_overrun_ns"], record["sim_compute_ns"]
    report = device_time_report([record])
    assert report["optical_bench_p50_ms"] == report["optical_wall_p50_ms"] == pytest.approx(8.0)
    assert report["sim_compute_share"] == 0.0
