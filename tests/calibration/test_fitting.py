"""The numerical pieces of the calibrations against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.calibration.measure.fitting import FitError, centroid, fit_affine, peak, remove_plane
from osclc.calibration.measure.fourier_geometry import linear_from_composition
from osclc.calibration.measure.lut_measure import (
    LutResult,
    fit_ellipse_phase,
    grating,
    grating_order_power,
    modulation_snr,
    refine_lut,
)
from osclc.calibration.measure.patterns import superpixel_index, used_box


@pytest.mark.parametrize("alpha", [0.9, 1.57, 2.2])
def test_ellipse_phase_recovers_any_quadrature(alpha):
    rng = np.random.default_rng(3)
    phase = np.sort(rng.uniform(0, 2.3 * np.pi, 70))
    phase[0] = 0.0
    x = 0.7 * (1 - np.cos(phase)) + 0.02
    y = 0.4 * (1 - np.cos(phase - alpha)) + 0.05
    angle, residual = fit_ellipse_phase(x, y)
    assert np.allclose(angle, phase, atol=1e-9) and residual < 1e-9
    # the scale and offset of each scan do not matter, and a falling sequence is flipped to rise
    assert np.allclose(fit_ellipse_phase(5 * x + 3, 0.1 * y)[0], phase, atol=1e-9)


def test_ellipse_residual_is_the_relative_distance_from_the_ellipse():
    phase = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    bumped = 1 + 0.05 * np.where(np.arange(40) % 2, 1.0, -1.0)  # every point 5 % off the circle, in or out
    _, residual = fit_ellipse_phase(bumped * np.cos(phase), bumped * np.sin(phase))
    assert residual == pytest.approx(0.05, rel=0.1)


def test_ellipse_phase_refuses_a_line():
    t = np.linspace(0, 1, 30)
    with pytest.raises(FitError):
        fit_ellipse_phase(t, 2 * t + 1)


def test_fit_affine_exact_and_residual():
    rng = np.random.default_rng(0)
    truth = np.array([[1.2, -0.3, 5.0], [0.25, 0.9, -7.0]])
    src = rng.uniform(-10, 10, (12, 2))
    dst = src @ truth[:, :2].T + truth[:, 2]
    fit = fit_affine(src, dst)
    assert np.allclose(fit.affine, truth) and fit.rms < 1e-9 and fit.inliers.all()
    assert fit.condition == pytest.approx(np.linalg.cond(truth[:, :2]))
    with pytest.raises(FitError):
        fit_affine(src[:2], dst[:2])
    with pytest.raises(FitError, match="on a line"):
        fit_affine(np.stack([np.arange(5.0), 2 * np.arange(5.0)], 1), dst[:5])


def test_fit_affine_rejects_outliers_that_plain_least_squares_follows():
    """Two spots taken for other orders (10 px off) among 25: least squares is pulled by them, the robust fit drops
    exactly those two and recovers the map to the noise."""
    rng = np.random.default_rng(1)
    truth = np.array([[-2.0, 0.1, 130.0], [-0.1, -2.0, 125.0]])
    src = np.stack(np.meshgrid(np.linspace(10, 54, 5), np.linspace(10, 54, 5), indexing="ij"), -1).reshape(-1, 2)
    dst = src @ truth[:, :2].T + truth[:, 2] + rng.normal(0, 0.02, src.shape)
    dst[[3, 17]] += [10.0, -7.0]
    fit = fit_affine(src, dst)
    assert np.flatnonzero(~fit.inliers).tolist() == [3, 17]
    assert np.abs(fit.affine - truth).max() < 0.01 and fit.rms < 0.05
    design = np.concatenate([src, np.ones((25, 1))], 1)
    plain = np.linalg.lstsq(design, dst, rcond=None)[0].T
    assert np.abs(plain - truth).max() > 0.1


def test_fit_affine_of_collapsed_spots_has_no_scale():
    """Spots that do not move (a camera in the far field) give a 2x2 of zeros (its condition number says nothing:
    the scale and spread gates see the collapse)."""
    src = np.stack(np.meshgrid(np.arange(5.0), np.arange(5.0), indexing="ij"), -1).reshape(-1, 2)
    fit = fit_affine(src, np.full((25, 2), 64.0))
    assert np.allclose(fit.affine[:, :2], 0, atol=1e-9)


def test_composition_of_far_field_and_camera_maps_gives_the_fourier_affine():
    """C = -G A^-T / P (an input shift is a linear phase on the SLM, which lens 2 turns into a shift like a blaze)."""
    a = 1.04 * np.array([[np.cos(0.05), -np.sin(0.05)], [np.sin(0.05), np.cos(0.05)]]) @ np.diag([1.0, 0.97])
    g = 532.0 * np.array([[0.99, 0.02], [-0.02, 1.01]])
    camera = -g @ np.linalg.inv(a).T / 256
    assert np.allclose(linear_from_composition(g, camera, 256), a)


def test_peak_ignores_a_hot_pixel():
    rows, cols = np.indices((30, 30), dtype=np.float64)
    image = 1500 * np.exp(-((rows - 20) ** 2 + (cols - 8) ** 2) / 8)
    image[3, 25] = 4095.0
    assert peak(image).tolist() == [20.0, 8.0]


def test_centroid_of_a_gaussian_on_a_pedestal():
    rows, cols = np.indices((40, 50), dtype=np.float64)
    image = 10.0 + 100 * np.exp(-((rows - 17.3) ** 2 + (cols - 30.6) ** 2) / (2 * 2.0**2))
    point, power = centroid(image, np.array([18.0, 30.0]), 9.0)
    assert np.allclose(point, [17.3, 30.6], atol=0.02) and power > 0


def test_remove_plane_and_patterns():
    rows, cols = np.indices((20, 30), dtype=np.float64)
    assert np.allclose(remove_plane(3 + 0.2 * rows - 0.1 * cols), 0, atol=1e-12)
    g = grating((4, 16), 8, 3, 7)
    assert g[0].tolist() == [3] * 4 + [7] * 4 + [3] * 4 + [7] * 4
    sp_rows, sp_cols = superpixel_index((8, 8), 2, (2, 6, 0, 8))
    assert sp_rows[0, 0] == -1 and sp_rows[2, 0] == 0 and sp_rows[5, 0] == 1 and sp_cols[3, 7] == 1
    assert used_box((256, 256), np.array([[2.0, 0, 128], [0, 2.0, 128]]), 64) == (64, 193, 64, 193)


def test_grating_order_power_without_fringing_is_the_closed_form():
    d = np.linspace(0, 3, 13)
    # a sampled square wave's first harmonic: (2/pi)^2 sin(d)^2 times the sampling factor _sampled(32) (~1)
    assert np.allclose(grating_order_power(d, 32, 0.0), (2 / np.pi) ** 2 * np.sin(d) ** 2 * _sampled(32), rtol=1e-12)


def _sampled(period: int) -> float:
    """|first harmonic|^2 of a sampled +-1 square wave of ``period`` samples over (2/pi)^2 (the continuous one's)."""
    wave = np.where(np.arange(period) < period // 2, 1.0, -1.0)
    return float(np.abs(np.sum(wave * np.exp(-2j * np.pi * np.arange(period) / period)) / period) ** 2 / (2 / np.pi) ** 2)


def test_lut_refit_with_fringing_recovers_the_phases_the_ellipse_misses():
    """Scans made with the blurred-stripe model (fringing 1.5 px, gamma 1.6, 2.2 pi): the ellipse is 0.05+ rad off,
    the refit to the same scans recovers the LUT to 1e-3 rad."""
    levels = np.arange(0, 256, 8)
    truth = 2.2 * np.pi * (np.arange(256) / 256) ** 1.6
    ref2 = int(levels[np.argmax(truth[levels] > np.pi / 2)])
    scans = [3e4 * grating_order_power((truth[levels] - truth[r]) / 2, 32, 1.5) + 200 for r in (0, ref2)]
    angle, _ = fit_ellipse_phase(*scans)
    ellipse = np.interp(np.arange(256), levels, angle)
    result = LutResult(phase_rad=ellipse, levels=levels, scan_ref0=scans[0], scan_ref2=scans[1], ref2=ref2)
    refined = refine_lut(result, 1.5)
    on_levels = np.arange(0, 249)
    assert np.sqrt(np.mean((ellipse[levels] - truth[levels]) ** 2)) > 0.05
    assert np.sqrt(np.mean((refined.phase_rad[levels] - truth[levels]) ** 2)) < 1e-3
    assert np.abs(refined.phase_rad[on_levels] - truth[on_levels]).max() < 0.02  # PCHIP between the scanned levels


def test_grating_scan_modulation_over_noise_tells_a_frozen_slm_from_a_working_one_under_stray_light():
    rng = np.random.default_rng(4)
    levels = np.arange(0, 256, 8)
    working = 3e4 * grating_order_power(2.2 * np.pi * (levels / 256) ** 1.3 / 2, 32, 0.5) + 5e4 + rng.normal(0, 30, levels.size)
    frozen = 5e4 + rng.normal(0, 30, levels.size)
    assert modulation_snr(working) > 100 and modulation_snr(frozen) < 8
