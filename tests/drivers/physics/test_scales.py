"""The nominal 4f scales against the optics by hand, and the two places that use them (bench config, the
"calibration skipped" record)."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.physics.scales import camera_scale_px, fourier_scale_px


def test_fourier_scale_is_the_bin_spacing_in_slm_pixels():
    # one bin of a P = 128 grid of 25 um pixels at 512 nm behind f1 = 0.1 m: 16 um on the SLM, 2 of its 8 um pixels
    assert 512e-9 * 0.1 / (128 * 25e-6) == pytest.approx(16e-6)
    assert fourier_scale_px(512e-9, 0.1, 128, 25e-6, 8e-6) == pytest.approx(2.0)


def test_camera_scale_is_the_magnification_in_camera_pixels():
    # f2 / f1 = 0.2 images a 25 um pixel onto 5 um: one 5 um camera pixel
    assert camera_scale_px(25e-6, 0.1, 0.02, 5e-6) == pytest.approx(1.0)
    assert camera_scale_px(12.5e-6, 0.2, 0.2, 5.86e-6) == pytest.approx(12.5 / 5.86)


def test_config_and_identity_record_use_the_scales():
    config = BenchConfig.model_validate({"optics": {"wavelength_m": 633e-9, "f1_m": 0.15, "f2_m": 0.05, "pad": 96},
                                         "input": {"pitch_m": 20e-6}, "slm": {"pitch_m": 9.2e-6}, "camera": {"pitch_m": 3.45e-6}})
    s = 633e-9 * 0.15 / (96 * 20e-6 * 9.2e-6)
    m = 20e-6 * 0.05 / (0.15 * 3.45e-6)
    assert config.fourier_scale() == pytest.approx(s) and config.camera_scale() == pytest.approx(m)
    record = CalibrationRecord.identity(config)
    np.testing.assert_allclose(record.fourier_affine[:, :2], s * np.eye(2))
    np.testing.assert_allclose(record.camera_affine[:, :2], -m * np.eye(2))
