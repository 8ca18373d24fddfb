"""Random benches (osclc.drivers.sim.random_bench): valid, reproducible by seed, and covering the ranges of issue 14
(written out here from the issue, not read from the module)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from osclc.configs import bundled
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig, ImperfectionsConfig
from osclc.drivers.sim.random_bench import draw_bench

REALISTIC = BenchConfig.model_validate(yaml.safe_load(bundled("bench-sim-realistic.yaml").read_text()))
DRAWS = 300

MODELLED = {  # imperfection -> (low, high) from issue 14 (the realistic bench: 512 x 512 SLM and sensor)
    "fringing_px": (0.0, 1.5), "zero_order": (0.0, 0.3), "lut_gamma": (0.4, 2.5),
    "phase_range_rad": (1.5 * math.pi, 3 * math.pi), "fourier_rotation_rad": (-0.1, 0.1), "fourier_scale": (0.8, 1.25),
    "camera_rotation_rad": (-0.1, 0.1), "camera_magnification": (0.8, 1.25),
    "dead_pixel_fraction": (0.0, 1e-3), "hot_pixel_fraction": (0.0, 1e-3),
}
UNMODELLED = {  # from the brief of the random-bench generator
    "pixel_fill_factor": (0.85, 0.98), "prnu": (0.0, 0.02), "stray_light": (0.0, 0.01), "flicker_rad": (0.0, 0.05),
    "laser_drift_per_s": (-0.01 / 60, 0.01 / 60), "input_extinction": (1 / 1000, 1 / 200),
    "lut_gamma_variation": (0.0, 0.05), "phase_range_variation": (0.0, 0.05), "crosstalk_asymmetry": (-0.5, 0.5),
}


@pytest.fixture(scope="module")
def draws() -> dict[bool, list[BenchConfig]]:
    return {mismatch: [draw_bench(seed, REALISTIC, mismatch) for seed in range(DRAWS)] for mismatch in (False, True)}


def _values(benches: list[BenchConfig], key: str) -> np.ndarray:
    return np.array([getattr(b.simulation.imperfections, key) for b in benches], dtype=float)


def _assert_covers(values: np.ndarray, low: float, high: float, name: str) -> None:
    """Inside [low, high], reaching within 5 % of the span of both ends."""
    span = high - low
    assert values.min() >= low - 1e-12 and values.max() <= high + 1e-12, name
    assert values.min() < low + 0.05 * span and values.max() > high - 0.05 * span, (name, values.min(), values.max())


def test_draws_are_valid_configs(draws) -> None:
    for benches in draws.values():
        for bench in benches:
            assert BenchConfig.model_validate(bench.model_dump()) == bench


def test_draws_are_reproducible_by_seed(draws) -> None:
    assert draw_bench(17, REALISTIC, True) == draws[True][17]
    assert draw_bench(17, REALISTIC, False) == draws[False][17]
    assert draws[True][17] != draws[True][18]


def test_modelled_ranges_are_covered(draws) -> None:
    for benches in draws.values():
        for key, (low, high) in MODELLED.items():
            _assert_covers(_values(benches, key), low, high, key)
        for axis in (0, 1):
            _assert_covers(np.array([b.simulation.imperfections.fourier_offset_px[axis] for b in benches]), -51.2, 51.2, "fourier offset")
            _assert_covers(np.array([b.simulation.imperfections.camera_offset_px[axis] for b in benches]), -51.2, 51.2, "camera offset")
        for j in range(4, 12):
            _assert_covers(np.array([b.simulation.imperfections.zernike_rad[j] for b in benches]), -3.0, 3.0, f"Noll {j}")
        assert all(set(b.simulation.imperfections.zernike_rad) == set(range(4, 12)) for b in benches)


def test_noise_is_on_at_the_realistic_level(draws) -> None:
    for bench in draws[False][:20] + draws[True][:20]:
        assert bench.simulation.noise and bench.simulation.quantize
        for key in ("read_noise_e", "full_well_e", "quantum_efficiency", "gain", "dark_level", "bit_depth"):
            assert getattr(bench.camera, key) == getattr(REALISTIC.camera, key)


def test_without_mismatch_only_modelled_effects(draws) -> None:
    """mismatch=False: every effect the calibration does not model is at its off value; mismatch=True draws them over
    their ranges, on top of the same modelled draw."""
    off = ImperfectionsConfig()
    for bench in draws[False]:
        imp = bench.simulation.imperfections
        assert all(getattr(imp, key) == getattr(off, key) for key in UNMODELLED)
        assert imp.crosstalk_shape == "gaussian" and imp.input_gamma == 1.0 and not bench.simulation.pixel_integration
        assert bench.camera.dark_current_e_per_s == 0.0
    for plain, mixed in zip(draws[False], draws[True]):
        assert all(getattr(plain.simulation.imperfections, key) == getattr(mixed.simulation.imperfections, key) for key in MODELLED)
    benches = draws[True]
    for key, (low, high) in UNMODELLED.items():
        values = _values([b for b in benches if key != "crosstalk_asymmetry" or b.simulation.imperfections.crosstalk_shape == "asymmetric"], key)
        _assert_covers(values, low, high, key)
    shapes = [b.simulation.imperfections.crosstalk_shape for b in benches]
    assert {shape: shapes.count(shape) > DRAWS / 5 for shape in ("gaussian", "exponential", "asymmetric")} == dict.fromkeys(
        ("gaussian", "exponential", "asymmetric"), True)
    assert all(b.simulation.pixel_integration for b in benches)
    gammas = _values(benches, "input_gamma")
    assert 0.9 <= gammas.min() < 0.92 and 1.08 < gammas.max() <= 1.1
    dark = np.array([b.camera.dark_current_e_per_s for b in benches])
    _assert_covers(dark, 0.0, 50.0, "dark current")


def test_drawn_benches_run(make_config) -> None:
    """Random benches of the ideal geometry open and capture (mismatch effects included): light arrives, nothing
    saturates everywhere, and the frames differ between seeds."""
    base = make_config()
    frames = []
    for seed in range(3):
        cfg = draw_bench(seed, base, mismatch=True)
        with open_bench(cfg, emission=True) as bench:
            bench.input.show(np.ones(cfg.input.shape))
            frames.append(bench.camera.capture().image.astype(np.float64))
    for frame in frames:
        assert frame.max() > frame.min() and frame.mean() < 0.9 * (2 ** 12 - 1)
    assert not np.array_equal(frames[0], frames[1])


@pytest.mark.parametrize("seed", [-1, 2.5, "3"])
def test_bad_seed_is_refused(seed: object) -> None:
    with pytest.raises(ValueError, match="integer >= 0"):
        draw_bench(seed, REALISTIC, False)  # type: ignore[arg-type]
