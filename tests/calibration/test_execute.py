"""Running a program with one camera exposure per pattern on the simulated bench: auto-exposure per
pattern, the dark model at each pattern's exposure, exposure changes only where the pattern needs one,
and the frames averaged per pattern (captures, mean, the noise measurement that chooses them)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from osclc.calibration.compiler import auto_expose, compile_program, fit_normalisation, frames_for_noise, noise_ratio
from osclc.calibration.compiler.exposure import TARGET_FULL_SCALE
from osclc.calibration.compiler.normalisation import NOISE_CORRELATION
from osclc.calibration.program import OpticalProgram
from osclc.calibration.program_checks import MAX_FRAMES
from osclc.calibration.record import CalibrationRecord
from osclc.calibration.execute import capture_frames, display_pattern, prepare, run_batch
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.errors import DeviceError, InvalidSetting
from osclc.models.networks.architecture import ClassificationArch, build_model
from osclc.models.folding import fold

SIZE, CHANNELS = 8, 3


def _student(seed: int):
    """A folded SCLC with random weights (CHANNELS output channels) on SIZE x SIZE images."""
    torch.manual_seed(seed)
    return fold(build_model(ClassificationArch(channels=[CHANNELS]), 1, SIZE, 10).eval())


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
    used = program.sample_weight[0, channels] != 0
    return float(frames[pattern].reshape(-1)[program.sample_index[0, channels][used]].max())


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
    taps = [frames[p].reshape(-1)[program.sample_index[0, p]].mean() for p in range(3)]
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


def test_each_pattern_is_read_from_the_mean_of_its_frames(monkeypatch) -> None:
    """Captures per pattern follow ``frames``; the image read is the plain mean of those captures."""
    config = _config()
    program = _program(config, 0)
    program.set_frames([1, 3, 2])
    rng = np.random.default_rng(3)
    with open_bench(config) as bench:
        prepare(bench, program)
        taken: list[tuple[float, np.ndarray]] = []
        capture = bench.camera.capture

        def noisy_capture(**kw):
            frame = capture(**kw)
            frame.image = frame.image + rng.uniform(0, 50, frame.image.shape)  # a different frame each time
            taken.append((bench.camera.exposure_s, frame.image))
            return frame

        monkeypatch.setattr(bench.camera, "capture", noisy_capture)
        frames = capture_frames(bench, program, _images(1, 0)[0])
    assert [e for e, _ in taken] == [program.exposure_s[0]] + [program.exposure_s[1]] * 3 + [program.exposure_s[2]] * 2
    images = [image for _, image in taken]
    np.testing.assert_allclose(frames[0], images[0])
    np.testing.assert_allclose(frames[1], (images[1] + images[2] + images[3]) / 3)
    np.testing.assert_allclose(frames[2], (images[4] + images[5]) / 2)


def test_noise_ratio_against_a_known_signal_and_noise() -> None:
    """Signal of variance 4 plus independent noise of variance 0.25 per capture: ratio 0.0625."""
    rng = np.random.default_rng(0)
    signal = rng.normal(0.0, 2.0, (400, 2, 6, 6))
    signal[:, 1] *= 0.5  # channel 1: variance 1, ratio 0.25
    first = signal + rng.normal(0, 0.5, signal.shape)
    again = signal + rng.normal(0, 0.5, signal.shape)
    ratio = noise_ratio(first[:100], again[:100], first)
    np.testing.assert_allclose(ratio, [0.0625, 0.25], rtol=0.1)
    assert noise_ratio(first[:, :1] * 0, again[:, :1] * 0 + 1, first[:, :1] * 0)[0] == np.inf  # no signal at all


def test_frames_for_noise_closed_form() -> None:
    """n frames divide the noise ratio r by n: the noise-limited correlation 1/sqrt(1 + r/n) reaches rho when
    n >= r / (1/rho^2 - 1); a pattern takes its worst channel's count, measured at its current frames."""
    config = _config()
    program = _program(config, 0)
    rho = 0.999
    allowed = 1 / rho**2 - 1  # 0.002003
    np.testing.assert_array_equal(frames_for_noise(program, np.array([0.0, 0.0021, 0.01]), rho), [1, 2, 5])
    program.set_frames([1, 2, 1])
    np.testing.assert_array_equal(frames_for_noise(program, np.array([0.5 * allowed, 0.004, np.inf]), rho), [1, 4, MAX_FRAMES])
    space = dataclasses.replace(program, patterns=program.patterns[:1], pattern_channels=[[0, 1, 2]], exposure_s=1e-3, frames=None)
    np.testing.assert_array_equal(frames_for_noise(space, np.array([0.001, 0.009, 0.003]), rho), [5])
    with pytest.raises(ValueError, match="correlation"):
        frames_for_noise(program, np.zeros(3), 1.0)


def test_fit_normalisation_averages_frames_until_the_noise_is_small() -> None:
    """A dim, noisy bench: the fit measures each channel's noise and picks frames so that, measured again from
    fresh captures at those frames, every channel's noise ratio is near or under the allowed one."""
    config = BenchConfig.model_validate({"simulation": {"clock": "virtual", "noise": True, "throughput": 3e-5, "seed": 4}})
    program = _program(config, 0)
    images = _images(12, 1)
    with torch.no_grad():
        digital = _student(0).features(torch.from_numpy(images)).numpy()
    with open_bench(config, emission=True) as bench:
        fit = fit_normalisation(bench, program, digital, images, expose=False, repeats=6)
        assert fit["frames"] == program.frames.tolist() and max(fit["frames"]) > 1
        assert len(fit["noise_ratio"]) == CHANNELS
        first, again = run_batch(bench, program, images[:6]), run_batch(bench, program, images[:6])
        after = noise_ratio(first, again, run_batch(bench, program, images))
    allowed = 1 / NOISE_CORRELATION**2 - 1
    assert np.all(after < 2.0 * allowed), (after / allowed, program.frames)
    before = np.array(fit["noise_ratio"])
    np.testing.assert_allclose(after[program.frames > 1] * program.frames[program.frames > 1],
                               before[program.frames > 1], rtol=0.6)


def test_a_pattern_goes_to_the_slm_once_and_unconverted() -> None:
    """Displaying is display_pattern's alone: an already shown pattern is not sent again (unless the loop asks
    for every switch), and the program's gray levels reach the driver as they are, so levels the SLM cannot show
    are refused instead of wrapped to its dtype."""
    config = _config()
    program = _program(config, 0)
    with open_bench(config) as bench:
        prepare(bench, program)
        sent = bench.slm.displays
        assert display_pattern(bench, program, 0) is None and bench.slm.displays == sent
        assert isinstance(display_pattern(bench, program, 0, always=True), int) and bench.slm.displays == sent + 1
        assert isinstance(display_pattern(bench, program, 1), int) and np.array_equal(bench.slm.displayed, program.patterns[1])
        ten_bit = dataclasses.replace(program, patterns=program.patterns.astype(np.uint16) + 256, slm_bit_depth=10)
        with pytest.raises(InvalidSetting, match="outside 0..255"):
            display_pattern(bench, ten_bit, 2)
        assert np.array_equal(bench.slm.displayed, program.patterns[1])
