"""Opening a bench: safe state on every exit path, refusals before the device, timeouts, timing model."""

from __future__ import annotations

import time

import numpy as np
import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.errors import DeviceTimeout, InterlockOpen, InvalidSetting


def _assert_safe(bench) -> None:
    assert bench.laser.emission is False
    assert not bench.simulation.transmittance.imag.any()  # blank SLM: gray 0 -> phase 0 everywhere
    assert bench.slm.displayed is not None and not bench.slm.displayed.any()
    assert bench.camera.acquiring is False
    assert all(device.closed for device in bench.devices().values())


def _use(bench) -> None:
    bench.slm.display(np.full(bench.slm.shape, 77, np.uint8))
    bench.input.show(np.ones(bench.input.shape))
    bench.camera.capture()
    assert bench.laser.emission is True


def test_normal_exit_leaves_the_bench_safe() -> None:
    with open_bench(BenchConfig(), emission=True) as bench:
        _use(bench)
    _assert_safe(bench)


@pytest.mark.parametrize("error", [RuntimeError("user code failed"), KeyboardInterrupt()])
def test_exception_and_ctrl_c_leave_the_bench_safe(error: BaseException) -> None:
    holder = {}
    with pytest.raises(type(error)):
        with open_bench(BenchConfig(), emission=True) as bench:
            holder["bench"] = bench
            _use(bench)
            raise error
    _assert_safe(holder["bench"])


@pytest.mark.parametrize("pattern, message", [
    (np.zeros((10, 10), np.uint8), "shape"),
    (np.zeros((256, 256), np.float32), "dtype"),
    (np.full((256, 256), 300, np.int32), "outside 0..255"),
    (np.full((256, 256), -1, np.int16), "outside 0..255"),
    ([[0] * 256] * 256, "numpy array"),
])
def test_bad_slm_patterns_are_refused_before_the_device(pattern, message: str) -> None:
    with open_bench(BenchConfig()) as bench:
        before = bench.simulation.transmittance.copy()
        with pytest.raises(InvalidSetting, match=message) as info:
            bench.slm.display(pattern)
        assert "sim-slm" in str(info.value)
        assert bench.slm.displays == 0 and np.array_equal(bench.simulation.transmittance, before)


@pytest.mark.parametrize("image, message", [
    (np.full((64, 64), np.nan), "NaN"),
    (np.full((64, 64), 1.5), "outside"),
    (np.ones((32, 32)), "shape"),
    (np.ones((64, 64), bool), "dtype"),
])
def test_bad_input_images_are_refused(image, message: str) -> None:
    with open_bench(BenchConfig()) as bench:
        spectrum = bench.simulation.spectrum.copy()
        with pytest.raises(InvalidSetting, match=message):
            bench.input.show(image)
        assert bench.input.shows == 0 and np.array_equal(bench.simulation.spectrum, spectrum)


def test_power_and_camera_settings_are_range_checked() -> None:
    with open_bench(BenchConfig()) as bench:
        for bad in (5.01, -1.0, float("nan"), "a lot"):
            with pytest.raises(InvalidSetting, match="power_mw") as info:
                bench.laser.set_power_mw(bad)
            assert "sim-laser" in str(info.value)
        assert bench.laser.power_mw() == 1.0
        with pytest.raises(InvalidSetting, match="exposure_s"):
            bench.camera.exposure_s = 100.0
        with pytest.raises(InvalidSetting, match="roi"):
            bench.camera.set_roi((250, 0, 10, 10))
        with pytest.raises(InvalidSetting, match="timeout_s"):
            bench.camera.capture(timeout_s=0)
    with pytest.raises(ValueError, match="max_power_mw"):
        BenchConfig.model_validate({"laser": {"max_power_mw": 2.0, "power_mw": 3.0}})


def test_capture_timeout_names_the_camera_and_virtual_clock_advances() -> None:
    cfg = BenchConfig.model_validate({"camera": {"exposure_s": 0.5, "readout_s": 0.01, "link_MBps": 100.0}})
    with open_bench(cfg, emission=True) as bench:
        t0 = bench.clock.now_ns()
        frame = bench.camera.capture(timeout_s=2.0)
        expected_s = 0.5 + 0.01 + 256 * 256 * 2 / 100e6
        assert (frame.t_received_ns - t0) * 1e-9 == pytest.approx(expected_s, abs=1e-6)
        assert frame.t_exposure_end_ns - frame.t_exposure_start_ns == 500_000_000
        with pytest.raises(DeviceTimeout, match="camera 'sim-camera'.*within 0.1 s"):
            bench.camera.capture(timeout_s=0.1)
        wall = time.perf_counter()
        bench.slm.display(np.zeros(bench.slm.shape, np.uint8))
        assert time.perf_counter() - wall < 0.5  # virtual clock: no real waiting


def test_real_clock_waits_the_settle_time() -> None:
    cfg = BenchConfig.model_validate({"slm": {"settle_s": 0.05}, "simulation": {"clock": "real"}})
    with open_bench(cfg) as bench:
        start = time.perf_counter_ns()
        settled = bench.slm.display(np.zeros(bench.slm.shape, np.uint8))
        assert settled - start >= 50_000_000


def test_roi_crops_the_frame() -> None:
    with open_bench(BenchConfig(), emission=True) as bench:
        a = np.zeros(bench.input.shape)
        a[30:34, 30:34] = 1
        bench.input.show(a)
        full = bench.camera.capture().image
        bench.camera.set_roi((100, 110, 50, 40))
        part = bench.camera.capture().image
    assert part.shape == (50, 40)
    assert np.array_equal(part, full[100:150, 110:150])


def test_interlock_open_refuses_emission() -> None:
    cfg = BenchConfig.model_validate({"simulation": {"faults": {"interlock_open": True}}})
    with pytest.raises(InterlockOpen, match="laser 'sim-laser'.*interlock"):
        with open_bench(cfg, emission=True):
            pass
    with open_bench(cfg) as bench:
        with pytest.raises(InterlockOpen):
            bench.laser.set_emission(True)
        assert bench.laser.status().emission is False
        assert bench.laser.status().faults == ["interlock open"]


def test_frame_timestamps_are_ordered_and_indices_count() -> None:
    with open_bench(BenchConfig(), emission=True) as bench:
        frames = [bench.camera.capture() for _ in range(3)]
    assert [f.index for f in frames] == [0, 1, 2]
    for f in frames:
        assert f.t_exposure_start_ns <= f.t_exposure_end_ns <= f.t_received_ns
        assert f.device_timestamp_ns == f.t_exposure_start_ns


def test_truth_is_exposed_only_by_a_simulated_bench() -> None:
    cfg = BenchConfig.model_validate({"simulation": {"imperfections": {"zero_order": 0.1}}})
    with open_bench(cfg) as bench:
        assert bench.truth.zero_order == 0.1 and bench.truth.phase_lut_rad.shape == (256,)
        bench.shared.extras.pop("simulation")  # as on a bench whose devices are all real
        with pytest.raises(LookupError, match="no simulated optics"):
            bench.truth


def test_ideal_preset_switches_every_imperfection_off() -> None:
    from osclc.configs import bundled
    from osclc.drivers.bench_config import FaultsConfig, ImperfectionsConfig, ideal
    from osclc.lab.config.files import load_config

    realistic = load_config(bundled("bench-sim-realistic.yaml"), kind="bench")
    assert realistic.simulation.imperfections != ImperfectionsConfig()
    preset = ideal(realistic)
    assert preset.simulation.imperfections == ImperfectionsConfig() and preset.simulation.faults == FaultsConfig()
    assert not preset.simulation.noise and not preset.simulation.quantize
    assert preset.slm == realistic.slm and preset.optics == realistic.optics  # same devices and geometry
