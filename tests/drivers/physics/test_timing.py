"""The timing model against hand-computed closed forms, and the drivers that follow it: the simulated camera's
capture and the SLM's switch advance a virtual clock by exactly the model's times."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.physics.timing import capture_time_s, frame_bytes, switch_time_s, transfer_time_s


def test_switch_time_is_the_longer_of_settle_and_one_video_frame():
    assert switch_time_s(0.0, 60.0) == pytest.approx(1 / 60)
    assert switch_time_s(0.05, 60.0) == 0.05
    assert switch_time_s(10e-6, 1e5) == 10e-6


@pytest.mark.parametrize(("bits", "per_pixel"), [(1, 1), (8, 1), (9, 2), (12, 2), (16, 2)])
def test_frame_bytes_round_bits_up_to_whole_bytes(bits, per_pixel):
    assert frame_bytes((100, 200), bits) == 100 * 200 * per_pixel


def test_transfer_and_capture_times():
    assert transfer_time_s((100, 200), 12, 40.0) == pytest.approx(100 * 200 * 2 / 40e6)
    assert transfer_time_s((100, 200), 12, 0.0) == 0.0  # 0 MB/s: instantaneous link
    assert capture_time_s(0.002, 0.001, 0.0005) == pytest.approx(0.0035)


def test_simulated_devices_take_the_model_times():
    config = BenchConfig.model_validate({
        "slm": {"settle_s": 0.004, "refresh_hz": 120.0},
        "camera": {"shape": [64, 48], "bit_depth": 10, "exposure_s": 0.003, "readout_s": 0.002, "link_MBps": 5.0},
        "simulation": {"clock": "virtual"},
    })
    with open_bench(config) as bench:
        start = bench.clock.now_ns()
        bench.slm.display(np.zeros(bench.slm.shape, bench.slm.dtype))
        switched = bench.clock.now_ns()
        bench.camera.capture(timeout_s=1.0)
        captured = bench.clock.now_ns()
    assert (switched - start) * 1e-9 == pytest.approx(1 / 120.0, abs=1e-9)
    assert (captured - switched) * 1e-9 == pytest.approx(0.003 + 0.002 + 64 * 48 * 2 / 5e6, abs=1e-9)
