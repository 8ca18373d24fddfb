"""Every effect the calibration does not model is off by default, changes the frame when it is on, and leaves the
frame bit-identical when it is set to its off value."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig

ON = {  # setting -> a value that turns the effect on
    "imp__crosstalk_shape": "exponential",
    "imp__pixel_fill_factor": 0.9,
    "imp__lut_gamma_variation": 0.1,
    "imp__phase_range_variation": 0.05,
    "imp__flicker_rad": 0.05,
    "imp__prnu": 0.01,
    "imp__dsnu_e": 2.0,
    "imp__stray_light": 0.01,
    "imp__laser_drift_per_s": 1e-3,
    "imp__input_extinction": 0.002,
    "imp__input_gamma": 1.2,
    "camera__dark_current_e_per_s": 100.0,
    "simulation__pixel_integration": True,
}
OFF_VALUES = {"imp__crosstalk_shape": "gaussian", "imp__pixel_fill_factor": 1.0, "imp__input_gamma": 1.0,
              "simulation__pixel_integration": False}
BASE = {"imp__fringing_px": 0.6, "imp__lut_gamma": 1.3, "imp__zero_order": 0.05, "imp__camera_rotation_rad": 0.02}


def _frames(cfg: BenchConfig) -> list[np.ndarray]:
    """Two frames (the clock advances between them) of a random input and SLM pattern (fixed seed)."""
    rng = np.random.default_rng(9)
    with open_bench(cfg, emission=True) as bench:
        bench.input.show(rng.random(cfg.input.shape))
        bench.slm.display(rng.integers(0, 256, cfg.slm.shape).astype(np.uint8))
        return [bench.camera.capture().image for _ in range(2)]


@pytest.fixture(scope="module")
def reference(make_config) -> list[np.ndarray]:
    return _frames(make_config(**BASE))


def test_every_effect_is_off_by_default(make_config) -> None:
    default = BenchConfig()
    for setting in ON:
        assert make_config(**{setting: OFF_VALUES.get(setting, 0.0)}) == default, setting


@pytest.mark.parametrize("setting", sorted(ON))
def test_effect_on_changes_the_frame_and_off_is_bit_identical(make_config, reference, setting: str) -> None:
    on = _frames(make_config(**BASE, **{setting: ON[setting]}))
    assert not np.array_equal(on[1], reference[1]), f"{setting} = {ON[setting]} left the frame unchanged"
    off = _frames(make_config(**BASE, **{setting: OFF_VALUES.get(setting, 0.0)}))
    assert all(np.array_equal(a, b) for a, b in zip(off, reference))
