"""The simulated sensor's effects the calibration does not model, each alone against its closed form: gain
non-uniformity (PRNU), offset non-uniformity (DSNU) and dark current."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.drivers.bench import open_bench


def _capture(cfg, light: bool = True, exposure_s: float | None = None) -> np.ndarray:
    with open_bench(cfg, emission=light) as bench:
        if exposure_s is not None:
            bench.camera.exposure_s = exposure_s
        bench.input.show(np.random.default_rng(0).random(cfg.input.shape))
        return bench.camera.capture().image.astype(np.float64)


def test_prnu_multiplies_the_light_by_a_fixed_gain_pattern(make_config) -> None:
    """frame(PRNU) = frame(ideal) (1 + prnu n) pixel by pixel, n a standard-normal pattern of the imperfections seed
    (its own stream: [seed, 1]); the pattern's spread is the configured 2 %; it is the same in every frame."""
    prnu, seed = 0.02, 77
    ideal = _capture(make_config(imp__seed=seed))
    cfg = make_config(imp__prnu=prnu, imp__seed=seed)
    frame = _capture(cfg)
    pattern = np.maximum(1 + prnu * np.random.default_rng([seed, 1]).standard_normal(cfg.camera.shape), 0)
    lit = ideal > 1e-3 * ideal.max()
    assert np.allclose(frame[lit], ideal[lit] * pattern[lit], rtol=2e-6)
    assert np.std(frame[lit] / ideal[lit]) == pytest.approx(prnu, rel=0.03)
    assert np.array_equal(_capture(cfg), frame)


def test_dsnu_adds_a_fixed_offset_pattern_independent_of_exposure(make_config) -> None:
    """No light: frame = dark level + gain * dsnu n' (electrons; n' standard normal, stream [seed, 2]), whatever the
    exposure."""
    dsnu, gain, dark = 3.0, 2.0, 100.0
    cfg = make_config(imp__dsnu_e=dsnu, camera__gain=gain, camera__dark_level=dark, imp__seed=5)
    frames = [_capture(cfg, light=False, exposure_s=t) for t in (1e-3, 0.1)]
    pattern = dsnu * np.random.default_rng([5, 2]).standard_normal(cfg.camera.shape)
    assert np.allclose(frames[0], dark + gain * pattern, atol=1e-3)
    assert np.array_equal(frames[0], frames[1])
    assert np.std((frames[0] - dark) / gain) == pytest.approx(dsnu, rel=0.03)


@pytest.mark.parametrize("exposure_s", [1e-3, 0.02, 0.5])
def test_dark_current_grows_linearly_with_exposure(make_config, exposure_s: float) -> None:
    """No light, no noise: every pixel reads dark level + gain * dark current * exposure."""
    rate, gain, dark = 400.0, 0.5, 64.0
    frame = _capture(make_config(camera__dark_current_e_per_s=rate, camera__gain=gain, camera__dark_level=dark),
                     light=False, exposure_s=exposure_s)
    assert np.allclose(frame, dark + gain * rate * exposure_s, rtol=1e-6)


def test_dark_current_has_shot_noise(make_config) -> None:
    """With noise: the dark electrons are Poisson (variance = mean = rate * exposure) plus the read noise."""
    rate, exposure, read = 5000.0, 0.2, 3.0
    cfg = make_config(camera__dark_current_e_per_s=rate, camera__read_noise_e=read, simulation__noise=True)
    electrons = _capture(cfg, light=False, exposure_s=exposure)
    assert electrons.mean() == pytest.approx(rate * exposure, rel=0.01)
    assert electrons.var() == pytest.approx(rate * exposure + read ** 2, rel=0.05)


def test_prnu_scales_the_light_not_the_dark_current(make_config) -> None:
    rate, prnu = 1000.0, 0.05
    ideal = _capture(make_config(imp__seed=3))
    frame = _capture(make_config(imp__prnu=prnu, imp__seed=3, camera__dark_current_e_per_s=rate))
    pattern = np.maximum(1 + prnu * np.random.default_rng([3, 1]).standard_normal(frame.shape), 0)
    assert np.allclose(frame, ideal * pattern + rate * 1e-3, rtol=2e-6, atol=1e-4)
