"""Light the image does not account for, against closed forms: stray light proportional to the laser power, and a
laser power drift linear in the bench clock's time."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.sim.optics import SimulatedBench


@pytest.mark.parametrize("camera, area", [({}, 1.0), ({"camera__pitch_m": 10e-6, "camera__shape": (128, 128)}, 4.0)])
def test_stray_light_is_a_tilted_background_proportional_to_the_laser(make_config, unit_electrons, camera: dict, area: float) -> None:
    """Dark input: every pixel collects stray * (electrons per sample of a fully lit input) * (samples per pixel)
    * (1 + tilt (2 col / (cols - 1) - 1)); half the power, half the background; laser off, none."""
    stray, tilt = 0.01, 0.4
    frames = {}
    for power in (1.0, 0.5):
        cfg = make_config(imp__stray_light=stray, imp__stray_light_tilt=tilt, laser__power_mw=power, **camera)
        with open_bench(cfg, emission=True) as bench:
            bench.input.show(np.zeros(cfg.input.shape))
            frames[power] = bench.camera.capture().image.astype(np.float64)
            bench.laser.set_emission(False)
            assert not bench.camera.capture().image.any()
        cols = cfg.camera.shape[1]
        profile = 1 + tilt * (2 * np.arange(cols) / (cols - 1) - 1)
        expected = stray * unit_electrons(cfg) * area * profile
        assert np.allclose(frames[power], np.broadcast_to(expected, frames[power].shape), rtol=1e-5)
    assert np.allclose(frames[0.5], 0.5 * frames[1.0], rtol=1e-6)


def test_stray_light_adds_to_the_image(make_config) -> None:
    rng = np.random.default_rng(1)
    a = rng.random((64, 64))
    frames = []
    for stray in (0.0, 0.02):
        cfg = make_config(imp__stray_light=stray)
        with open_bench(cfg, emission=True) as bench:
            bench.input.show(a)
            frames.append(bench.camera.capture().image.astype(np.float64))
            bench.input.show(np.zeros((64, 64)))
            frames.append(bench.camera.capture().image.astype(np.float64))
    assert np.allclose(frames[2] - frames[3], frames[0], rtol=1e-4, atol=1e-6 * frames[0].max())


def test_laser_drift_is_linear_in_the_bench_clock(make_config) -> None:
    """Frame total = undrifted total * (1 + r t), t the seconds from the bench opening to mid-exposure (virtual clock)."""
    rate, exposure = 1e-3, 1e-3
    a = np.random.default_rng(2).random((64, 64))
    with open_bench(make_config(), emission=True) as bench:
        bench.input.show(a)
        reference = bench.camera.capture().image.astype(np.float64).sum()
    with open_bench(make_config(imp__laser_drift_per_s=rate), emission=True) as bench:
        bench.input.show(a)
        start = bench.simulation.start_ns
        for wait_s in (0.0, 30.0, 100.0, 250.0):
            bench.clock.sleep(wait_s)
            frame = bench.camera.capture()
            t = (frame.t_exposure_start_ns - start) * 1e-9 + exposure / 2
            assert frame.image.astype(np.float64).sum() / reference == pytest.approx(1 + rate * t, rel=1e-6)
        assert t > 380.0  # the drift has acted: +38 %


def test_falling_laser_drift_stops_at_darkness(make_config) -> None:
    cfg = make_config(imp__laser_drift_per_s=-0.01)
    with open_bench(cfg, emission=True) as bench:
        bench.input.show(np.ones(cfg.input.shape))
        assert bench.camera.capture().image.sum() > 0
        bench.clock.sleep(150.0)
        assert not bench.camera.capture().image.any()


def test_drift_without_the_bench_clock_is_refused(make_config) -> None:
    assert SimulatedBench(make_config()).clock.kind == "virtual"
    with pytest.raises(InvalidSetting, match="laser_drift_per_s: the drift follows the bench clock"):
        SimulatedBench(make_config(imp__laser_drift_per_s=1e-4))
