"""Running a program with one camera exposure per pattern on the simulated bench: auto-exposure per
pattern, the dark model at each pattern's exposure, and exposure changes only where the pattern needs one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from osclc.calibration.compiler import compile_program
from osclc.calibration.program import OpticalProgram
from osclc.calibration.record import CalibrationRecord
from osclc.calibration.run_program import TARGET_FULL_SCALE, auto_expose, capture_frames, prepare, run_batch
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.errors import DeviceError
from osclc.models.architecture import ArchConfig, build_model
from osclc.models.folding import fold

SIZE, CHANNELS = 8, 3


def _student(seed: int):
    """A folded SCLC with random weights (CHANNELS output channels) on SIZE x SIZE images."""
    torch.manual_seed(seed)
    return fold(build_model(ArchConfig(channels=[CHANNELS]), 1, SIZE, 10).eval())


def _config(**camera) -> BenchConfig:
    return BenchConfig.model_validate({"simulation": {"clock": "virtual"}, "camera": camera})


def _images(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (count, 1, SIZE, SIZE)).astype(np.float32)


def _program(config: BenchConfig, seed: int) -> OpticalProgram:
    return compile_program(_student(seed), CalibrationRecord.identity(config), config, multiplex="time",
                           encoding="double_phase")


def _brightest_tap(program: OpticalProgram, frames: np.ndarray, pattern: int) -> float:
    channels = program.pattern_channels[pattern]
    used = program.sample_weight[channels] != 0
    return float(frames[pattern].reshape(-1)[program.sample_index[channels][used]].max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auto_expose_puts_every_patterns_brightest_tap_near_the_target(seed: int) -> None:
    config = _config()
    program = _program(config, seed)
    images = _images(3, seed)
    with open_bench(config) as bench:
        prepare(bench, program)
        before = [capture_frames(bench, program, image) for image in images]  # every pattern at the config's exposure
        exposures = auto_expose(bench, program, list(images))
        np.testing.assert_array_equal(exposures, program.exposure_s)
        target = TARGET_FULL_SCALE * bench.camera.max_count
        for p in range(len(program.patterns)):
            peak = max(_brightest_tap(program, capture_frames(bench, program, image), p) for image in images)
            assert peak == pytest.approx(target, rel=0.2), f"pattern {p}"
    # each exposure ~ 1 / its pattern's brightness at one exposure: the dimmer patterns got the longer ones
    brightness = np.array([max(_brightest_tap(program, frames, p) for frames in before) for p in range(3)])
    assert exposures.max() > 1.5 * exposures.min()
    np.testing.assert_allclose(exposures / exposures[0], brightness[0] / brightness, rtol=0.2)


def test_auto_expose_without_light_names_the_patterns() -> None:
    config = _config()
    program = _program(config, 0)
    with open_bench(config) as bench:
        prepare(bench, program)
        bench.laser.set_emission(False)
        with pytest.raises(DeviceError, match=r"pattern\(s\) \[0, 1, 2\].*no light|no light.*pattern\(s\) \[0, 1, 2\]"):
            auto_expose(bench, program, list(_images(1, 0)))


def test_with_the_laser_off_each_pattern_reads_zero_at_its_own_exposure(monkeypatch) -> None:
    """A camera with a per-pixel dark current: dark(e) = level + rate * e. The program's dark model, given at
    a reference exposure, must cancel it at every pattern's own exposure."""
    config = _config(dark_level=100.0)
    program = _program(config, 0)
    rate = np.random.default_rng(5).uniform(2e3, 2e4, config.camera.shape)  # counts per second
    program = dataclasses.replace(program, dark=100.0 + rate * 2e-3, dark_per_s=rate, dark_exposure_s=2e-3,
                                  exposure_s=[0.5e-3, 8e-3, 30e-3])
    image = _images(1, 0)[0]
    with open_bench(config) as bench:
        simulated = bench.camera.simulation.frame
        monkeypatch.setattr(bench.camera.simulation, "frame", lambda exposure, gain: simulated(exposure, gain) + rate * exposure)
        prepare(bench, program)
        bench.laser.set_emission(False)
        frames = capture_frames(bench, program, image)
    raw = program.readout(frames, normalise=False)
    np.testing.assert_allclose(raw, 0.0, atol=1e-6)
    # the dark at the taps differs between patterns by hundreds of counts: one dark for all would not cancel it
    taps = [frames[p].reshape(-1)[program.sample_index[p]].mean() for p in range(3)]
    assert taps[2] - taps[0] > 100


def test_the_exposure_changes_only_where_the_pattern_needs_another(monkeypatch) -> None:
    config = _config()
    program = _program(config, 0)
    program.set_exposure([1e-3, 1e-3, 4e-3])
    images = _images(2, 0)
    with open_bench(config) as bench:
        applied: list[float] = []
        setter = bench.camera._set_exposure_hw
        monkeypatch.setattr(bench.camera, "_set_exposure_hw", lambda seconds: (applied.append(seconds), setter(seconds)))
        used: list[float] = []
        capture = bench.camera.capture
        monkeypatch.setattr(bench.camera, "capture", lambda **kw: (used.append(bench.camera.exposure_s), capture(**kw))[1])
        prepare(bench, program)
        capture_frames(bench, program, images[0])
        assert used == [1e-3, 1e-3, 4e-3] and applied == [4e-3]
        used.clear()
        run_batch(bench, program, images)
        assert used == [1e-3, 1e-3, 1e-3, 1e-3, 4e-3, 4e-3]
        assert applied == [4e-3, 1e-3, 4e-3]
