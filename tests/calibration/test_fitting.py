"""The numerical pieces of the calibrations against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.calibration.measure.fitting import FitError, centroid, fit_affine, remove_plane
from osclc.calibration.measure.fourier_geometry import _crossing
from osclc.calibration.measure.lut_measure import fit_ellipse_phase, grating
from osclc.calibration.measure.patterns import superpixel_index, used_box


@pytest.mark.parametrize("alpha", [0.9, 1.57, 2.2])
def test_ellipse_phase_recovers_any_quadrature(alpha):
    rng = np.random.default_rng(3)
    phase = np.sort(rng.uniform(0, 2.3 * np.pi, 70))
    phase[0] = 0.0
    x = 0.7 * (1 - np.cos(phase)) + 0.02
    y = 0.4 * (1 - np.cos(phase - alpha)) + 0.05
    assert np.allclose(fit_ellipse_phase(x, y), phase, atol=1e-9)
    # the scale and offset of each scan do not matter, and a falling sequence is flipped to rise
    assert np.allclose(fit_ellipse_phase(5 * x + 3, 0.1 * y), phase, atol=1e-9)


def test_ellipse_phase_refuses_a_line():
    t = np.linspace(0, 1, 30)
    with pytest.raises(FitError):
        fit_ellipse_phase(t, 2 * t + 1)


def test_fit_affine_exact_and_residual():
    rng = np.random.default_rng(0)
    truth = np.array([[1.2, -0.3, 5.0], [0.25, 0.9, -7.0]])
    src = rng.uniform(-10, 10, (12, 2))
    dst = src @ truth[:, :2].T + truth[:, 2]
    affine, rms = fit_affine(src, dst)
    assert np.allclose(affine, truth) and rms < 1e-9
    with pytest.raises(FitError):
        fit_affine(src[:2], dst[:2])


def test_centroid_of_a_gaussian_on_a_pedestal():
    rows, cols = np.indices((40, 50), dtype=np.float64)
    image = 10.0 + 100 * np.exp(-((rows - 17.3) ** 2 + (cols - 30.6) ** 2) / (2 * 2.0**2))
    point, power = centroid(image, np.array([18.0, 30.0]), 9.0)
    assert np.allclose(point, [17.3, 30.6], atol=0.02) and power > 0


def test_crossing_of_a_sampled_step():
    # balance of a symmetric spectrum centred at 12.3 (pixel centres): boundary b sits at b - 0.5
    centre, sigma = 12.3, 2.5
    bounds = np.arange(6, 20)
    pixels = np.arange(40)
    weight = np.exp(-((pixels - centre) ** 2) / (2 * sigma**2))
    balance = np.array([(weight[:b].sum() - weight[b:].sum()) / weight.sum() for b in bounds])
    assert abs(_crossing(bounds, balance) - centre) < 0.05
    near = bounds[np.argsort(np.abs(bounds - 0.5 - centre))[:6]]
    assert abs(_crossing(near, balance[np.searchsorted(bounds, near)], degree=3) - centre) < 0.01


def test_remove_plane_and_patterns():
    rows, cols = np.indices((20, 30), dtype=np.float64)
    assert np.allclose(remove_plane(3 + 0.2 * rows - 0.1 * cols), 0, atol=1e-12)
    g = grating((4, 16), 8, 3, 7)
    assert g[0].tolist() == [3] * 4 + [7] * 4 + [3] * 4 + [7] * 4
    sp_rows, sp_cols = superpixel_index((8, 8), 2, (2, 6, 0, 8))
    assert sp_rows[0, 0] == -1 and sp_rows[2, 0] == 0 and sp_rows[5, 0] == 1 and sp_cols[3, 7] == 1
    assert used_box((256, 256), np.array([[2.0, 0, 128], [0, 2.0, 128]]), 64) == (64, 193, 64, 193)
