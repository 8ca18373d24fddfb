"""The dark model against the simulated camera's known dark: offset, growth per second, and its extrapolation
to the long exposures dim patterns use, with the camera's read and quantisation noise on."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.calibration.measure.dark_gain import measure_dark
from osclc.calibration.measure.probe import BenchProbe
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig

DARK_LEVEL = 64.0


def _config(seed: int) -> BenchConfig:
    """A noisy 12-bit camera like the realistic bench's (read noise 2.5 e- at 0.4 counts/e-: 1 count rms), hot pixels."""
    return BenchConfig.model_validate({
        "camera": {"shape": [96, 128], "bit_depth": 12, "exposure_s": 1e-3, "gain": 0.4, "dark_level": DARK_LEVEL,
                   "read_noise_e": 2.5},
        "simulation": {"clock": "virtual", "noise": True, "quantize": True, "seed": seed,
                       "imperfections": {"hot_pixel_fraction": 0.002, "seed": seed}},
    })


def _predicted(result, exposure_s: float) -> np.ndarray:
    return result.frame + result.per_s * (exposure_s - result.exposure_s)


@pytest.mark.parametrize("seed", [0, 1])
def test_dark_extrapolated_to_a_long_exposure_stays_at_the_true_level(seed: int) -> None:
    """No dark current: the dark the programs use at 0.25 s (250 times the measuring exposure) is the camera's
    dark level to a fraction of a count, hot pixels found."""
    with open_bench(_config(seed)) as bench:
        result = measure_dark(BenchProbe(bench))
        truth_hot = bench.truth.hot_pixels
    good = ~result.hot
    np.testing.assert_array_equal(result.hot, truth_hot)
    error = _predicted(result, 0.25)[good] - DARK_LEVEL
    assert np.sqrt(np.mean(error**2)) < 0.5
    assert np.all(result.per_s[good] == result.per_s[good][0])  # noise alone: every pixel takes the median growth


def test_pixels_with_their_own_dark_current_keep_it(monkeypatch) -> None:
    """A dark current of 40 counts/s everywhere and 3000 counts/s on 1 % of the pixels (added to each simulated
    frame in proportion to its exposure): the typical pixels get 40, the others their own rate."""
    config = _config(2)
    rng = np.random.default_rng(7)
    rate = np.full(config.camera.shape, 40.0)
    strong = rng.random(config.camera.shape) < 0.01
    rate[strong] = 3000.0
    with open_bench(config) as bench:
        simulated = bench.camera.simulation.frame
        monkeypatch.setattr(bench.camera.simulation, "frame", lambda exposure, gain: simulated(exposure, gain) + rate * exposure)
        result = measure_dark(BenchProbe(bench), long_exposure_s=0.2)
    good = ~result.hot
    np.testing.assert_allclose(result.per_s[good & ~strong], 40.0, atol=2.0)
    np.testing.assert_allclose(result.per_s[good & strong], 3000.0, rtol=0.02)
    error = _predicted(result, 0.2)[good] - (DARK_LEVEL + rate[good] * 0.2)
    assert np.sqrt(np.mean(error**2)) < 0.6
