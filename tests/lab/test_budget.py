"""The latency budget against hand-computed sums, and the shipped budget-table configs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from osclc.calibration.compiler.frame_rate import frame_transfer_s
from osclc.configs import bundled
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.latency.budget import frame_bytes, predict_budget
from osclc.lab.loop.config import LoopConfig


def _bench(**camera) -> BenchConfig:
    return BenchConfig.model_validate(
        {
            "input": {"settle_s": 0.004},
            "slm": {"settle_s": 0.010, "refresh_hz": 200.0},
            "camera": {"shape": [100, 200], "bit_depth": 12, "exposure_s": 0.002, "readout_s": 0.001, "link_MBps": 40.0, **camera},
        }
    )


def test_single_mask_budget_is_the_sum_of_its_parts():
    budget = predict_budget(_bench(), masks=1, readout_s=0.0005, backend_s=0.0003)
    nbytes = 100 * 200 * 2  # 12 bits travel in 2 bytes
    link = nbytes / 40e6
    assert budget.frame_bytes == nbytes
    expected = 0.004 + 0.0 + 0.002 + (0.001 + link) + 0.0005 + 0.0003  # static mask: no SLM settle per frame
    assert budget.latency_s == pytest.approx(expected)
    assert budget.stages_s["optical"] == pytest.approx(0.004 + 0.002 + 0.001 + link)
    assert budget.throughput_fps == pytest.approx(1 / budget.stages_s["optical"])


def test_time_multiplexed_budget_counts_every_mask():
    one = predict_budget(_bench(), masks=1)
    three = predict_budget(_bench(), masks=3)
    # per mask: SLM settle, exposure, sensor readout, transfer
    per_mask = 0.010 + 0.002 + 0.001 + 100 * 200 * 2 / 40e6
    assert three.latency_s == pytest.approx(0.004 + 3 * per_mask)
    assert three.latency_s - one.latency_s == pytest.approx(2 * per_mask + 0.010)


def test_per_mask_exposures_are_summed():
    transfer = 0.001 + 100 * 200 * 2 / 40e6
    budget = predict_budget(_bench(), masks=3, exposure_s=[0.001, 0.005, 0.0005])
    assert budget.segments_s["exposure_start->exposure_end"] == pytest.approx(0.0065 + 2 * (0.010 + transfer))
    assert budget.latency_s == pytest.approx(0.004 + 3 * (0.010 + transfer) + 0.0065)
    same = predict_budget(_bench(), masks=3, exposure_s=[0.002] * 3)
    assert same == predict_budget(_bench(), masks=3) == predict_budget(_bench(), masks=3, exposure_s=0.002)
    with pytest.raises(ValueError, match="one per mask"):
        predict_budget(_bench(), masks=3, exposure_s=[0.001, 0.002])
    with pytest.raises(ValueError, match="positive"):
        predict_budget(_bench(), masks=2, exposure_s=[0.001, float("nan")])


def test_a_slow_video_frame_sets_the_mask_switch_as_in_the_driver():
    """Settle 2 ms on a 60 Hz SLM: each mask costs one video frame, in the budget and in ``SLM.display``."""
    config = BenchConfig.model_validate({"slm": {"settle_s": 0.002, "refresh_hz": 60.0}, "simulation": {"clock": "virtual"}})
    one, three = predict_budget(config, masks=1), predict_budget(config, masks=3)
    per_capture = config.camera.exposure_s + config.camera.readout_s + frame_transfer_s(config.camera)
    assert three.latency_s - one.latency_s == pytest.approx(3 * (1 / 60) + 2 * per_capture)
    with open_bench(config) as bench:
        start = bench.slm.clock.now_ns()
        settled = bench.slm.display(np.zeros(bench.slm.shape, np.uint8))
    assert (settled - start) / 1e9 == pytest.approx(1 / 60)


def test_averaged_frames_are_full_captures():
    transfer = 0.001 + 100 * 200 * 2 / 40e6
    budget = predict_budget(_bench(), masks=3, exposure_s=[0.001, 0.005, 0.0005], frames=[2, 1, 3])
    # 6 captures, 3 mask changes: exposures 2*1 + 5 + 3*0.5 ms; every capture but the last transferred inside the segment
    assert budget.segments_s["exposure_start->exposure_end"] == pytest.approx(0.0085 + 2 * 0.010 + 5 * transfer)
    assert budget.latency_s == pytest.approx(0.004 + 3 * 0.010 + 0.0085 + 6 * transfer)
    assert predict_budget(_bench(), masks=1, frames=4).segments_s["exposure_start->exposure_end"] == pytest.approx(
        4 * 0.002 + 3 * transfer)
    with pytest.raises(ValueError, match="one per mask"):
        predict_budget(_bench(), masks=3, frames=[1, 2])
    with pytest.raises(ValueError, match="whole numbers"):
        predict_budget(_bench(), masks=2, frames=[1, 0])


def test_compute_bound_throughput_and_helpers():
    budget = predict_budget(_bench(exposure_s=1e-6, readout_s=0.0, link_MBps=0.0), backend_s=0.05)
    assert budget.throughput_fps == pytest.approx(20.0)
    assert frame_bytes((3, 5), 8) == 15 and frame_bytes((3, 5), 16) == 30 and frame_bytes((3, 5), 1) == 15
    with pytest.raises(ValueError):
        predict_budget(_bench(), masks=0)
    with pytest.raises(ValueError):
        predict_budget(_bench(), backend_s=-1.0)


def test_paper_bench_reproduces_the_papers_estimate():
    config = BenchConfig.model_validate(yaml.safe_load(bundled("bench-paper.yaml").read_text()))
    budget = predict_budget(config, backend_s=0.28e-3)
    # 100 kB over 2500 Mbit/s is 0.32 ms; + 0.28 ms backend (+ 1 us exposure) ~ the paper's 0.6 ms
    assert budget.segments_s["exposure_end->received"] == pytest.approx(0.32e-3)
    assert budget.latency_s == pytest.approx(0.6e-3, rel=0.01)
    for name in ("bench-lcos-typical.yaml", "bench-dmd-typical.yaml"):
        other = BenchConfig.model_validate(yaml.safe_load(bundled(name).read_text()))
        assert predict_budget(other, backend_s=0.28e-3).latency_s > budget.latency_s
        assert math.isfinite(predict_budget(other).throughput_fps)


def test_loop_config_ranges():
    assert LoopConfig().kind == "loop"
    with pytest.raises(ValueError):
        LoopConfig(queue_depth=0)
    with pytest.raises(ValueError):
        LoopConfig(unknown=1)
