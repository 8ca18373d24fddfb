"""Camera pixels that integrate the intensity over their area (simulation.pixel_integration) against closed forms:
a two-frequency field's fringes lose contrast by the pixel footprint's sinc, the power is kept, and images land where
the camera's truth affine says."""

from __future__ import annotations

import math

import numpy as np
import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig

Q = 256
BINS = ((Q // 2 + 10, Q // 2 - 30), (Q // 2 + 50, Q // 2 + 40))  # stored indices of the two SLM frequencies


def _rotation(theta: float) -> np.ndarray:
    return np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])


def _camera_geometry(cfg: BenchConfig) -> tuple[np.ndarray, np.ndarray]:
    """G^-1 (output samples per camera pixel, 2x2) and the camera index of the optical axis, from the config:
    G = magnification R(theta) diag(output sample pitch / camera pitch), axis at R/2 + offset."""
    imp = cfg.simulation.imperfections
    d_out = cfg.optics.wavelength_m * cfg.optics.f1_m / (Q * cfg.slm.pitch_m) * cfg.optics.f2_m / cfg.optics.f1_m
    g = imp.camera_magnification * _rotation(imp.camera_rotation_rad) @ np.diag([d_out / cfg.camera.pitch_m] * 2)
    return np.linalg.inv(g), np.array(cfg.camera.shape) / 2 + np.array(imp.camera_offset_px)


def _fringes(cfg: BenchConfig, unit: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(simulated electrons, closed form, cosine amplitude) on the camera pixels inside the simulated window (2 samples
    from its edges; beyond it the camera sees no light) of a field with two SLM frequencies k1, k2 (amplitudes
    Q^2 and Q^2 / 2, flat SLM): I(x) = |V1|^2 + |V2|^2 + 2 V1 V2 cos(2 pi (k1 - k2) . x / Q) per output sample x, and a
    pixel centred on x = G^-1 (c + 1/2 - axis) - 1/2 integrates it to area (|V1|^2 + |V2|^2 + 2 V1 V2 cos(...)
    sinc(u_r) sinc(u_c)), u = G^-T (k1 - k2) / Q, area = |det G^-1|."""
    v = (float(Q * Q), 0.5 * Q * Q)
    spectrum = np.zeros((Q, Q), np.complex64)
    for (r, c), value in zip(BINS, v):
        spectrum[r, c] = value * (-1) ** (r + c)  # the stored spectrum carries the checkerboard sign
    with open_bench(cfg, emission=True) as bench:
        bench.slm.display(np.zeros((Q, Q), np.uint8))
        bench.simulation.spectrum = spectrum
        electrons = bench.simulation.expected_electrons(cfg.camera.exposure_s).astype(np.float64)
    g_inv, axis = _camera_geometry(cfg)
    delta = np.subtract(BINS[0], BINS[1]).astype(float)
    u = g_inv.T @ (delta / Q)
    area = abs(np.linalg.det(g_inv))
    rows, cols = np.mgrid[0:cfg.camera.shape[0], 0:cfg.camera.shape[1]]
    x = np.einsum("ij,jrc->irc", g_inv, np.stack([rows + 0.5 - axis[0], cols + 0.5 - axis[1]])) - 0.5
    phase = 2 * np.pi * (delta[0] * x[0] + delta[1] * x[1]) / Q
    amplitude = 2 * v[0] * v[1] * area * np.sinc(u[0]) * np.sinc(u[1])
    expected = (v[0] ** 2 + v[1] ** 2) * area + amplitude * np.cos(phase)
    scale = unit / float(Q * Q) ** 2
    inside = np.all(np.abs(x) <= Q / 2 - 2, axis=0)
    return electrons[inside], expected[inside] * scale, abs(amplitude) * scale


@pytest.mark.parametrize("camera", [
    {},  # camera pixel = one output sample: centres on the grid, exact
    {"camera__pitch_m": 10e-6, "camera__shape": (128, 128)},  # 2 x 2 samples per pixel
    {"camera__pitch_m": 10e-6, "camera__shape": (128, 128), "imp__camera_offset_px": (3.0, -2.0)},
])
def test_fringes_lose_contrast_by_the_pixel_footprint(make_config, unit_electrons, camera: dict) -> None:
    cfg = make_config(simulation__pixel_integration=True, **camera)
    electrons, expected, amplitude = _fringes(cfg, unit_electrons(cfg))
    assert np.abs(electrons - expected).max() < 1e-4 * amplitude
    sampled, _, _ = _fringes(make_config(**camera), unit_electrons(cfg))
    assert np.abs(sampled - expected).max() > 0.1 * amplitude  # point sampling (or block sums) misses the sinc


def test_fringes_on_a_rotated_magnified_camera(make_config, unit_electrons) -> None:
    """Off-grid pixel centres (rotation 0.05 rad, magnification 1.1, sub-pixel offset): reading the exact
    integrals on the half-sample grid by a periodic cubic spline, to 0.3 % of the fringe amplitude."""
    cfg = make_config(simulation__pixel_integration=True, imp__camera_rotation_rad=0.05, imp__camera_magnification=1.1,
                      imp__camera_offset_px=(2.3, -1.2), camera__shape=(200, 200))
    electrons, expected, amplitude = _fringes(cfg, unit_electrons(cfg))
    assert np.abs(electrons - expected).max() < 0.003 * amplitude


@pytest.mark.parametrize("camera", [{}, {"camera__pitch_m": 10e-6, "camera__shape": (128, 128)}])
def test_integration_keeps_the_power(make_config, camera: dict) -> None:
    """A camera covering the whole window collects the same total with and without pixel integration (the intensity
    is a trigonometric polynomial: its mean over the samples is its mean over the window)."""
    rng = np.random.default_rng(4)
    a, gray = rng.random((64, 64)), rng.integers(0, 256, (Q, Q)).astype(np.uint8)
    totals, frames = [], []
    for integrate in (False, True):
        with open_bench(make_config(simulation__pixel_integration=integrate, imp__fringing_px=0.5, **camera), emission=True) as bench:
            bench.input.show(a)
            bench.slm.display(gray)
            frame = bench.camera.capture().image.astype(np.float64)
        totals.append(frame.sum())
        frames.append(frame)
    assert totals[1] == pytest.approx(totals[0], rel=1e-5)
    assert np.abs(frames[1] - frames[0]).max() > 0.01 * frames[0].max()


def test_images_land_where_the_camera_affine_says(make_config) -> None:
    """Blob centroids with pixel integration on a rotated, magnified, offset camera: at the truth affine, to 0.03 px."""
    cfg = make_config(simulation__pixel_integration=True, imp__camera_rotation_rad=0.05, imp__camera_magnification=1.1,
                      imp__camera_offset_px=(2.3, -1.2), imp__fourier_rotation_rad=0.03, imp__fourier_scale=1.02)
    rr, cc = np.mgrid[0:64, 0:64]
    with open_bench(cfg, emission=True) as bench:
        affine = bench.truth.camera_affine
        for r, c in [(16, 20), (40, 44), (50, 12), (32, 32)]:
            bench.input.show(np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * 1.5 ** 2)))
            image = bench.camera.capture().image.astype(np.float64)
            rows, cols = np.mgrid[0:image.shape[0], 0:image.shape[1]]
            centroid = np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()
            predicted = affine[:, :2] @ np.array([r, c]) + affine[:, 2]
            assert np.all(np.abs(centroid - predicted) < 0.03), ((r, c), centroid, predicted)
