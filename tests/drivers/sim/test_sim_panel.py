"""The simulated SLM panel's effects the calibration does not model, each alone against its closed form: the pixel
aperture's far-field envelope, a LUT that varies across the panel, and phase flicker at the refresh rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.sim.panel import ripple_mean


def _point_source(cfg: BenchConfig) -> BenchConfig:
    """``cfg`` with a modulator whose last pixel is a point on the axis sample (flat spectrum: the camera sees the
    SLM's far field; see tests/drivers/test_sim_optics.py)."""
    n = cfg.input.shape[0]
    d = cfg.optics.wavelength_m * cfg.optics.f1_m / (cfg.slm.shape[0] * cfg.slm.pitch_m)
    return cfg.model_copy(update={"input": cfg.input.model_copy(update={"pitch_m": d / (n - 1)})})


def _far_field(bench, gray: np.ndarray, frames: int = 1) -> list[np.ndarray]:
    n = bench.config.input.shape[0]
    a = np.zeros(bench.config.input.shape)
    a[n - 1, n - 1] = 1.0
    bench.input.show(a)
    bench.slm.display(gray)
    return [bench.camera.capture().image.astype(np.float64) for _ in range(frames)]


def test_fill_factor_multiplies_every_frame_by_the_aperture_envelope(make_config) -> None:
    """Any input and SLM pattern: frame(F) = frame(1) F^2 sinc^2(sqrt(F) x / Q) sinc^2(sqrt(F) y / Q) pixel by pixel
    (camera pixel = output sample, x, y from the axis)."""
    fill = 0.8
    rng = np.random.default_rng(2)
    a, gray = rng.random((64, 64)), rng.integers(0, 256, (256, 256)).astype(np.uint8)
    frames = []
    for f in (1.0, fill):
        with open_bench(make_config(imp__pixel_fill_factor=f), emission=True) as bench:
            bench.input.show(a)
            bench.slm.display(gray)
            frames.append(bench.camera.capture().image.astype(np.float64))
    x = np.arange(256) - 128
    envelope = np.sinc(math.sqrt(fill) * x / 256)
    expected = frames[0] * fill ** 2 * np.outer(envelope, envelope) ** 2
    assert np.abs(frames[1] - expected).max() < 1e-5 * expected.max()
    assert frames[1].sum() < 0.7 * frames[0].sum()


@pytest.mark.parametrize("period", [4, 8, 0])
def test_fill_factor_envelope_of_a_deflected_spot(make_config, period: int) -> None:
    """A blazed staircase of ``period`` pixels (an exact linear phase on the pixel grid) sends all the light of a point
    source to one spot Q / period samples off axis; with fill factor F that spot keeps F^2 sinc^2(sqrt(F) / period)
    (the sinc^2 far-field envelope of a square aperture of side sqrt(F) pixels) of the power."""
    fill = 0.7
    gray = np.zeros((256, 256), np.uint8)
    if period:
        gray[:] = (np.arange(256) % period) * (256 // period)
    spots = []
    for f in (1.0, fill):
        with open_bench(_point_source(make_config(imp__pixel_fill_factor=f)), emission=True) as bench:
            image = _far_field(bench, gray)[0]
        spots.append((image.max(), image.sum(), np.unravel_index(int(np.argmax(image)), image.shape)))
    (peak1, total1, where1), (peak, _, where) = spots
    assert where == where1 and peak1 == pytest.approx(total1, rel=1e-5)  # one spot takes all the light
    assert abs(where[1] - 128) == (256 // period if period else 0)
    shift = 1.0 / period if period else 0.0
    assert peak / peak1 == pytest.approx(fill ** 2 * np.sinc(math.sqrt(fill) * shift) ** 2, rel=1e-5)


def _lut_map(rows: int, cols: int) -> np.ndarray:
    """Tilt along the columns plus a bowl, 2 rho cos(theta) + sqrt(3) (2 rho^2 - 1) on the circle through the corner
    pixels around (rows//2, cols//2), scaled to peak |map| = 1 (the documented map, written out)."""
    y, x = np.mgrid[0:rows, 0:cols].astype(float)
    y -= rows // 2
    x -= cols // 2
    rho = np.hypot(x, y) / math.hypot(rows // 2, cols // 2)
    raw = 2 * rho * np.cos(np.arctan2(y, x)) + math.sqrt(3) * (2 * rho ** 2 - 1)
    return raw / np.abs(raw).max()


@pytest.mark.parametrize("gamma_variation, range_variation", [(0.1, 0.0), (0.0, 0.05), (0.2, 0.08)])
def test_lut_varies_across_the_panel_as_configured(make_config, gamma_variation: float, range_variation: float) -> None:
    """A uniform gray g shows phi = range (1 + v_r map) (g / 256)^(gamma (1 + v_g map)) at each pixel."""
    cfg = make_config(imp__lut_gamma=1.3, imp__phase_range_rad=6.5, imp__lut_gamma_variation=gamma_variation,
                      imp__phase_range_variation=range_variation, simulation__precision="double")
    shape_map = _lut_map(256, 256)
    with open_bench(cfg, emission=True) as bench:
        for g in (64, 200):
            bench.slm.display(np.full((256, 256), g, np.uint8))
            expected = 6.5 * (1 + range_variation * shape_map) * (g / 256) ** (1.3 * (1 + gamma_variation * shape_map))
            assert np.abs(bench.simulation.transmittance - np.exp(1j * expected)).max() < 1e-9
            assert np.ptp(expected) > 0.05  # the effect is there: not a uniform phase
        truth = bench.truth
    assert np.allclose(truth.lut_gamma_map, 1.3 * (1 + gamma_variation * shape_map), atol=1e-12)
    assert np.allclose(truth.phase_range_map_rad, 6.5 * (1 + range_variation * shape_map), atol=1e-12)


def test_ripple_mean_is_the_exposure_average() -> None:
    for theta, f, exposure in [(0.3, 60.0, 1e-3), (2.0, 60.0, 0.05), (4.0, 1440.0, 2e-3), (1.0, 60.0, 1e-12)]:
        t = (np.arange(200000) + 0.5) / 200000 * exposure
        assert ripple_mean(theta, f, exposure) == pytest.approx(np.mean(np.sin(2 * np.pi * f * t + theta)), abs=1e-6)
    assert abs(ripple_mean(0.7, 60.0, 1 / 60)) < 1e-12


def _grating_ripples(make_config, exposure_s: float, frames: int) -> np.ndarray:
    """Per frame, the relative phase error r of a 0 / (pi/2) grating of period 2 seen through its zero order:
    zero-order fraction cos^2(Delta (1 + r) / 2) (closed form of a binary grating), solved for r."""
    cfg = _point_source(make_config(imp__flicker_rad=0.3, camera__exposure_s=exposure_s))
    gray = np.zeros((256, 256), np.uint8)
    gray[:, ::2] = 64  # Delta = 2 pi 64 / 256 = pi / 2 with the ideal LUT
    with open_bench(cfg, emission=True) as bench:
        flat = _far_field(bench, np.zeros_like(gray))[0]
        spot = np.unravel_index(int(np.argmax(flat)), flat.shape)
        images = _far_field(bench, gray, frames)
    fractions = np.array([image[spot] / image.sum() for image in images])
    return 2 * np.arccos(np.sqrt(fractions)) / (np.pi / 2) - 1


def test_flicker_changes_each_frame_by_the_ripple_at_the_refresh_rate(make_config) -> None:
    """Peak ripple 0.3 rad at the full-scale phase 2 pi: r = (0.3 / 2 pi) m, m the exposure's mean of a sine of random
    phase (1 ms at 60 Hz: |m| <= sinc-like 0.994); over 300 frames its RMS is sqrt(2 (1 - cos w)) / w / sqrt(2),
    w = 2 pi f T, to 15 %; an exposure of one refresh period averages the ripple out."""
    ripples = _grating_ripples(make_config, 1e-3, 300)
    amplitude = 0.3 / (2 * np.pi)
    w = 2 * np.pi * 60.0 * 1e-3
    peak = math.sqrt(2 * (1 - math.cos(w))) / w
    assert np.abs(ripples).max() <= amplitude * peak + 1e-5
    assert np.abs(ripples).max() > 0.8 * amplitude * peak
    assert np.sqrt(np.mean(ripples ** 2)) == pytest.approx(amplitude * peak / math.sqrt(2), rel=0.15)
    assert np.abs(_grating_ripples(make_config, 1 / 60.0, 20)).max() < 1e-5
