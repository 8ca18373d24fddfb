"""The SLM response model (fringing blur, zero order, checkerboard mean transmittance) against its definitions
computed with plain NumPy: a sampled Gaussian, explicit convolutions, and a full-field FFT convolution."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from osclc.drivers.physics.slm_response import (
    add_zero_order, blur_phase, blurred_square_wave, fringing_kernel, mean_transmittance, transmittance,
)


def gaussian_weights(sigma_px: float) -> np.ndarray:
    """The crosstalk kernel by its definition: a Gaussian sampled at integer offsets up to ceil(4 sigma), sum 1."""
    if sigma_px == 0:
        return np.array([1.0])
    radius = max(1, int(np.ceil(4 * sigma_px)))
    x = np.arange(-radius, radius + 1)
    weights = np.exp(-x**2 / (2 * sigma_px**2))
    return weights / weights.sum()


def blur_edge(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Separable blur with edge-replicated borders by explicit 1-D convolutions."""
    weights = gaussian_weights(sigma_px)
    r = weights.size // 2
    padded = np.pad(image, r, mode="edge")
    rows = np.stack([np.convolve(line, weights, mode="valid") for line in padded])
    return np.stack([np.convolve(line, weights, mode="valid") for line in rows.T]).T


def full_field_mean(block: int, phase_a: float, phase_b: float, sigma_px: float, z: float, size: int = 48) -> complex:
    """Mean transmittance of a periodic checkerboard phase blurred by circular 2-D convolution (NumPy FFT)."""
    rows, cols = np.indices((size, size))
    phase = np.where(((rows // block) + (cols // block)) % 2 == 0, phase_a, phase_b)
    weights = gaussian_weights(sigma_px)
    kernel = np.zeros((size, size))
    r = weights.size // 2
    for i, wi in enumerate(weights):
        for j, wj in enumerate(weights):
            kernel[(i - r) % size, (j - r) % size] += wi * wj
    blurred = np.real(np.fft.ifft2(np.fft.fft2(phase) * np.fft.fft2(kernel)))
    return complex(np.mean(z + (1 - z) * np.exp(1j * blurred)))


@pytest.mark.parametrize("sigma", [0.1, 0.3, 0.55, 1.2, 2.7])
def test_fringing_kernel_is_the_sampled_gaussian(sigma):
    kernel = fringing_kernel(sigma)
    np.testing.assert_allclose(kernel, gaussian_weights(sigma), rtol=1e-14, atol=0)
    assert kernel.size == 2 * max(1, int(np.ceil(4 * sigma))) + 1 and np.isclose(kernel.sum(), 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blur_phase_is_the_separable_convolution(dtype):
    phase = np.random.default_rng(0).uniform(0, 2 * np.pi, (23, 31))
    blurred = blur_phase(phase.astype(dtype), fringing_kernel(0.7).astype(dtype))
    assert blurred.dtype == dtype
    np.testing.assert_allclose(blurred, blur_edge(phase, 0.7), atol=1e-5 if dtype == np.float32 else 1e-12)
    # zeros outside the SLM with the constant border: the edge pixel keeps only its inner neighbours' share
    edge = blur_phase(np.ones((9, 9)), fringing_kernel(0.7), cv2.BORDER_CONSTANT)
    inner = gaussian_weights(0.7)[gaussian_weights(0.7).size // 2:].sum()
    assert np.isclose(edge[0, 0], inner**2) and np.isclose(edge[4, 4], 1.0)


@pytest.mark.parametrize(("sigma", "zero_order", "dtype"), [(0.0, 0.0, np.complex128), (0.6, 0.08, np.complex128), (0.4, 0.2, np.complex64)])
def test_transmittance_is_the_model(sigma, zero_order, dtype):
    phase = np.random.default_rng(1).uniform(0, 2 * np.pi, (16, 20))
    real = np.float32 if dtype == np.complex64 else np.float64
    t = transmittance(phase.astype(real), sigma, zero_order, dtype)
    shown = blur_edge(phase, sigma) if sigma > 0 else phase
    assert t.dtype == dtype
    np.testing.assert_allclose(t, zero_order + (1 - zero_order) * np.exp(1j * shown), atol=2e-6 if dtype == np.complex64 else 1e-12)


def test_zero_order_of_a_uniform_pi_phase():
    # half the field unmodulated: exp(i pi) = -1 cancels it exactly, z = 1/4 leaves -1/2
    assert add_zero_order(np.array([-1.0 + 0j]), 0.5)[0] == 0
    assert np.isclose(add_zero_order(np.array([-1.0 + 0j]), 0.25)[0], -0.5)


@pytest.mark.parametrize("sigma", [0.0, 0.3, 0.55, 1.2])
def test_mean_transmittance_matches_full_field_convolution(sigma):
    rng = np.random.default_rng(3)
    blocks = np.array([1, 2, 3, 4, 6, 2])
    phases = np.concatenate([rng.uniform(0, 2 * np.pi, size=(5, 2)), [[1.0, 1.0]]])  # the last one uniform
    z = 0.07
    model = mean_transmittance(blocks, phases, sigma, z)
    expected = [full_field_mean(int(b), a, c, sigma, z) for b, (a, c) in zip(blocks, phases)]
    assert np.allclose(model, expected, atol=1e-12)


def test_mean_transmittance_closed_forms():
    # no blur: the mean of the two phasors; a uniform phase pi: z - (1 - z)
    assert np.isclose(mean_transmittance([2], [[0.3, 2.0]], 0.0, 0.1)[0], 0.1 + 0.9 * (np.exp(0.3j) + np.exp(2.0j)) / 2)
    assert np.isclose(mean_transmittance([0], [[np.pi, np.pi]], 0.7, 0.1)[0], 0.1 - 0.9)
    # 1-pixel squares: the blurred phase is c +- d a^2 with a = sum_k w_k (-1)^k
    w = gaussian_weights(0.6)
    a = np.sum(w * (-1.0) ** np.abs(np.arange(w.size) - w.size // 2))
    expected = np.exp(1j * 1.5) * np.cos(1.0 * a**2)  # phases 2.5 and 0.5: c = 1.5, d = 1.0
    assert np.isclose(mean_transmittance([1], [[2.5, 0.5]], 0.6, 0.0)[0], expected)
    np.testing.assert_allclose(blurred_square_wave(1, 0.6), [a, -a], rtol=1e-12)
    # several zero orders at once: one row per z
    both = mean_transmittance([2, 3], [[0.3, 2.0], [1.0, 1.0]], 0.0, np.array([0.0, 0.5]))
    assert both.shape == (2, 2) and np.isclose(both[1, 1], 0.5 + 0.5 * np.exp(1j))
