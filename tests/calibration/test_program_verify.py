"""The program check's verdict and diagnosis on synthetic features (independent of any bench)."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.calibration.compiler.verify import best_shift, likely_fault, verify_program
from osclc.calibration.quality import QualityError


def _features(seed: int = 0) -> np.ndarray:
    """Smooth random feature maps [images 4, channels 3, 12, 12]."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(4, 3, 12, 12))
    kernel = np.ones(3) / 3
    smooth = np.apply_along_axis(np.convolve, 2, noise, kernel, "same")
    return np.apply_along_axis(np.convolve, 3, smooth, kernel, "same")


def test_best_shift_finds_a_known_shift() -> None:
    predicted = _features()
    captured = np.roll(predicted, (1, -2), axis=(2, 3))
    shift, shifted, unshifted = best_shift(captured, predicted)
    assert shift == (1, -2) and shifted > 0.99 and unshifted < 0.8


def test_a_shift_is_blamed_on_the_camera_registration() -> None:
    predicted = _features()
    captured = 3.0 * np.roll(predicted, (0, 2), axis=(2, 3)) + 5.0
    correlation = [float(np.corrcoef(captured[:, o].ravel(), predicted[:, o].ravel())[0, 1]) for o in range(3)]
    assert likely_fault(captured, predicted, correlation).step == "camera"


def test_features_in_place_but_wrong_are_blamed_on_the_slm_side() -> None:
    predicted = _features()
    captured = predicted + 0.8 * _features(seed=1)  # distorted where they lie: no shift restores them
    correlation = [float(np.corrcoef(captured[:, o].ravel(), predicted[:, o].ravel())[0, 1]) for o in range(3)]
    fault = likely_fault(captured, predicted, correlation)
    assert fault.step == "wavefront" and "lut" in fault.fix


def test_verify_passes_gain_and_offset_and_fails_below_the_threshold() -> None:
    predicted = _features()
    figures = verify_program(2.0 * predicted + 1.0, predicted, 0.98)
    assert [f.verdict for f in figures] == ["pass"] * 3
    broken = predicted.copy()
    broken[:, 1] = _features(seed=2)[:, 1]
    with pytest.raises(QualityError, match="correlation of channel 1") as caught:
        verify_program(broken, predicted, 0.98)
    assert [f.name for f in caught.value.failed] == ["correlation of channel 1"]
    forced = verify_program(broken, predicted, 0.98, force=True)
    assert forced[1].verdict == "fail" and len(forced) == 3


def test_verify_refuses_a_threshold_outside_0_1() -> None:
    with pytest.raises(ValueError, match="threshold"):
        verify_program(_features(), _features(), 1.5)
