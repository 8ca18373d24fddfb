"""Trigger modes and real-size timing: a camera triggered by the SLM's or input's sync output starts its exposure at
that device's settle end (no software round trip), as osclc.drivers.physics.timing models; a DMD's pattern modes set
the input's switch time; a row-reading camera's ROI shortens its frame; the real-size bench configs open and capture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.errors import DeviceTimeout, InvalidSetting
from osclc.drivers.physics.timing import input_switch_time_s, readout_time_s, transfer_time_s
from osclc.lab.latency.budget import predict_budget

MS = 1_000_000
CONFIGS = Path(__file__).resolve().parents[2] / "osclc" / "configs"


def _config(camera_trigger: str, **input_timing: object) -> BenchConfig:
    return BenchConfig.model_validate({
        "input": {"settle_s": 0.004, "bit_depth": 1 if input_timing.get("mode") == "binary" else 8, "timing": input_timing},
        "slm": {"settle_s": 0.005, "refresh_hz": 400.0},
        "camera": {"exposure_s": 0.001, "readout_s": 0.002, "timing": {"trigger": camera_trigger}},
    })


@pytest.mark.parametrize("trigger", ["slm", "input"])
def test_triggered_exposure_starts_at_the_settle_end(trigger: str) -> None:
    with open_bench(_config(trigger), emission=True) as bench:
        if trigger == "slm":
            settled = bench.slm.display(np.zeros(bench.slm.shape, np.uint8))
        else:
            settled = bench.input.show(np.full(bench.input.shape, 0.5))
        bench.clock.sleep(0.003)  # the host's round trip between the pattern and the capture call
        frame = bench.camera.capture(timeout_s=1.0)
        duration = bench.camera.frame_time_s()
        assert frame.t_exposure_start_ns == settled == frame.device_timestamp_ns
        assert frame.t_exposure_end_ns - settled == 1 * MS
        assert frame.t_received_ns == settled + round(duration * 1e9)  # the round trip hid inside the frame time
        with pytest.raises(DeviceTimeout, match=f"no trigger from the {trigger}"):
            bench.camera.capture(timeout_s=0.05)  # no new pattern: no sync pulse, no frame


def test_software_trigger_pays_the_round_trip() -> None:
    with open_bench(_config("software"), emission=True) as bench:
        settled = bench.slm.display(np.zeros(bench.slm.shape, np.uint8))
        bench.clock.sleep(0.003)
        frame = bench.camera.capture(timeout_s=1.0)
        assert frame.t_exposure_start_ns == settled + 3 * MS


def test_dmd_modes_set_the_input_switch_time() -> None:
    binary = _config("input", mode="binary", binary_rate_hz=20000.0, trigger="sequence")
    gray = _config("input", mode="bitplanes", bitplane_rate_hz=100.0)
    assert input_switch_time_s(0.004, 20000.0) == 0.004 and input_switch_time_s(0.0, 20000.0) == pytest.approx(5e-5)
    for cfg, expected in ((binary, 0.004), (gray, 0.01)):
        with open_bench(cfg, emission=True) as bench:
            t0 = bench.clock.now_ns()
            assert bench.input.show(np.zeros(bench.input.shape)) - t0 == round(expected * 1e9)
        assert predict_budget(cfg).segments_s["optical.start->input_settled"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="set input.bit_depth to 1"):
        BenchConfig.model_validate({"input": {"bit_depth": 8, "timing": {"mode": "binary", "binary_rate_hz": 1e4}}})
    with pytest.raises(ValueError, match="needs bitplane_rate_hz > 0"):
        BenchConfig.model_validate({"input": {"timing": {"mode": "bitplanes"}}})


def test_roi_of_a_row_reading_camera_reads_faster() -> None:
    cfg = BenchConfig.model_validate({"camera": {"shape": [400, 600], "bit_depth": 8, "exposure_s": 0.001, "readout_s": 0.004,
                                                 "link_MBps": 100.0, "timing": {"roi_readout": "rows"}}})
    with open_bench(cfg) as bench:
        full = bench.camera.frame_time_s()
        bench.camera.set_roi((100, 0, 100, 600))
        roi = bench.camera.frame_time_s()
    assert full == pytest.approx(0.001 + 0.004 + 400 * 600 / 100e6)
    assert roi == pytest.approx(0.001 + 0.001 + 100 * 600 / 100e6)
    budget = predict_budget(cfg, roi_rows=100)
    assert budget.segments_s["exposure_end->received"] == pytest.approx(roi - 0.001)
    assert readout_time_s(0.004, 100, 400, False) == 0.004 and transfer_time_s((100, 600), 8, 0.0) == 0.0


def test_budget_predicts_a_triggered_loop_of_masks() -> None:
    """Time-multiplexed captures with the camera triggered by the SLM: the bench clock's stamps add up to the budget."""
    cfg = _config("slm")
    masks = 3
    budget = predict_budget(cfg, masks=masks)
    with open_bench(cfg, emission=True) as bench:
        t0 = bench.clock.now_ns()
        bench.input.show(np.full(bench.input.shape, 0.5))
        for m in range(masks):
            bench.slm.display(np.full(bench.slm.shape, m, np.uint8))
            bench.clock.sleep(0.002)  # host round trip: hidden by the trigger (software-timed, it would add 6 ms)
            frame = bench.camera.capture(timeout_s=1.0)
        optical = (frame.t_received_ns - t0) / 1e9
    assert optical == pytest.approx(budget.stages_s["optical"], rel=1e-6)


def test_a_camera_without_trigger_input_refuses_hardware_triggers() -> None:
    from osclc.drivers.camera import Camera, RawFrame

    class Plain(Camera):
        def _capture_hw(self, timeout_s: float) -> RawFrame:
            return RawFrame(np.zeros(self.shape, np.uint16))

        def _set_exposure_hw(self, exposure_s: float) -> None:
            pass

        def _set_gain_hw(self, gain: float) -> None:
            pass

    camera = Plain("plain", (4, 4), 5e-6, 12, 1e-3)
    with pytest.raises(InvalidSetting, match="no hardware trigger input"):
        camera.set_trigger("slm")
    with pytest.raises(InvalidSetting, match="trigger must be one of"):
        camera.set_trigger("laser")
    camera.set_trigger("software")
    assert camera.trigger == "software"


@pytest.mark.parametrize("name", ["bench-realsize-lcos", "bench-realsize-dmd"])
def test_real_size_benches_open_and_capture(name: str) -> None:
    raw = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    raw["simulation"]["clock"] = "virtual"
    cfg = BenchConfig.model_validate(raw)
    with open_bench(cfg, emission=True) as bench:
        bench.slm.display(np.zeros(bench.slm.shape, np.uint8))
        bench.input.show(np.ones(bench.input.shape))
        frame = bench.camera.capture(timeout_s=4.0)
    assert frame.image.shape == (1200, 1920)
    lit = float(np.percentile(frame.image, 99.9))
    assert 20 <= lit < bench.camera.max_count  # light reaches the camera, unsaturated, at the configured exposure
