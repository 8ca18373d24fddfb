"""Crosstalk kernels of any shape (osclc.drivers.physics.crosstalk) against their definitions, and their effect on the
simulated SLM (transmittance around one raised pixel, a fine grating's diffraction efficiency)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.physics.crosstalk import crosstalk_blur, crosstalk_kernel
from osclc.drivers.physics.slm_response import fringing_kernel


def two_sided_exponential(width_px: float, asymmetry: float) -> tuple[np.ndarray, np.ndarray]:
    """Offsets x and the kernel by its definition: exp(-x / b+) for x >= 0, exp(x / b-) below, b+- = b (1 +- a),
    b = w / sqrt(2 + 2 a^2), cut at ceil(12 max(b+, b-)), sum 1."""
    b = width_px / math.sqrt(2 + 2 * asymmetry ** 2)
    up, down = b * (1 + asymmetry), b * (1 - asymmetry)
    radius = max(1, math.ceil(12 * max(up, down)))
    x = np.arange(-radius, radius + 1)
    k = np.array([math.exp(-v / up) if v >= 0 else math.exp(v / down) for v in x])
    return x, k / k.sum()


@pytest.mark.parametrize("shape, asymmetry", [("exponential", 0.0), ("asymmetric", 0.5), ("asymmetric", -0.3)])
@pytest.mark.parametrize("width", [0.3, 0.9, 1.5])
def test_kernel_is_its_definition(shape: str, asymmetry: float, width: float) -> None:
    _, expected = two_sided_exponential(width, asymmetry)
    assert np.allclose(crosstalk_kernel(shape, width, asymmetry), expected, rtol=1e-12, atol=0)


def test_gaussian_shape_is_the_calibrated_model() -> None:
    assert np.array_equal(crosstalk_kernel("gaussian", 0.7), fringing_kernel(0.7))


@pytest.mark.parametrize("shape, asymmetry", [("gaussian", 0.0), ("exponential", 0.0), ("asymmetric", 0.5)])
def test_width_is_the_rms_width_and_asymmetry_shifts_the_mean(shape: str, asymmetry: float) -> None:
    """For a wide kernel (4 px) the sampled kernel's RMS width is the width (the continuous one's, to 1 %); the
    asymmetric one's mean is the geometric-series sum of its two sides (closed form), about 2 a b."""
    width = 4.0
    k = crosstalk_kernel(shape, width, asymmetry)
    x = np.arange(k.size) - k.size // 2
    mean = float((x * k).sum())
    assert math.sqrt(float(((x - mean) ** 2 * k).sum())) == pytest.approx(width, rel=0.01)
    b = width / math.sqrt(2 + 2 * asymmetry ** 2)
    r_up, r_down = math.exp(-1 / (b * (1 + asymmetry))), math.exp(-1 / (b * (1 - asymmetry)))
    if shape == "asymmetric":
        series = (r_up / (1 - r_up) ** 2 - r_down / (1 - r_down) ** 2) / (1 + r_up / (1 - r_up) + r_down / (1 - r_down))
        assert mean == pytest.approx(series, abs=0.02)
        assert mean == pytest.approx(2 * asymmetry * b, rel=0.05)
    else:
        assert abs(mean) < 1e-12


def test_blur_spreads_a_pixel_forward_by_the_kernel() -> None:
    """Convolution, not correlation: the phase of pixel i reaches pixel i + x with weight k(x) along both axes."""
    x, k = two_sided_exponential(1.2, 0.6)
    phase = np.zeros((41, 41))
    phase[20, 20] = 1.0
    blurred = crosstalk_blur(phase, crosstalk_kernel("asymmetric", 1.2, 0.6))
    expected = np.zeros_like(phase)
    expected[20 + x[0]:20 + x[-1] + 1, 20 + x[0]:20 + x[-1] + 1] = np.outer(k, k)
    assert np.allclose(blurred, expected, atol=1e-15)
    row = np.convolve(phase[20], k, mode="same")  # NumPy's convolution of the middle row, for the orientation
    assert np.allclose(blurred.sum(axis=0), row, atol=1e-15)


@pytest.mark.parametrize("bad, match", [({"width_px": 0.0}, "must be > 0"), ({"asymmetry": 1.0}, r"\(-1, 1\)"),
                                        ({"shape": "lorentzian"}, "gaussian, exponential or asymmetric")])
def test_bad_kernel_settings_are_refused(bad: dict, match: str) -> None:
    args = {"shape": "asymmetric", "width_px": 1.0, "asymmetry": 0.2, **bad}
    with pytest.raises(ValueError, match=match):
        crosstalk_kernel(**args)


def test_asymmetry_without_its_shape_is_refused(make_config) -> None:
    with pytest.raises(ValueError, match="set crosstalk_shape: asymmetric or crosstalk_asymmetry: 0"):
        make_config(imp__fringing_px=1.0, imp__crosstalk_asymmetry=0.3)


def test_simulated_slm_blurs_one_raised_pixel_by_the_kernel(make_config) -> None:
    """Gray 32 (phase pi/4, ideal LUT) on one pixel: the transmittance's phase around it is (pi/4) k(x) k(y)."""
    cfg: BenchConfig = make_config(imp__fringing_px=1.2, imp__crosstalk_shape="asymmetric", imp__crosstalk_asymmetry=0.6,
                                   simulation__precision="double")
    gray = np.zeros(cfg.slm.shape, np.uint8)
    gray[128, 100] = 32
    with open_bench(cfg, emission=True) as bench:
        bench.slm.display(gray)
        phase = np.angle(bench.simulation.transmittance)
        kernel = bench.truth.crosstalk_kernel
    x, k = two_sided_exponential(1.2, 0.6)
    assert np.allclose(kernel, k, rtol=1e-12)
    expected = np.zeros(cfg.slm.shape)
    expected[128 + x[0]:128 + x[-1] + 1, 100 + x[0]:100 + x[-1] + 1] = math.pi / 4 * np.outer(k, k)
    assert np.abs(phase - expected).max() < 1e-12


def test_exponential_crosstalk_lowers_fine_grating_efficiency_as_predicted(make_config) -> None:
    """A 0 / pi grating of period 2 columns behind a point source: the first orders carry 1 - |mean(exp(i k ** phi))|^2,
    which for an infinite grating is sin^2(swing / 2) with swing = pi |sum_x k(x) (-1)^x| (closed form)."""
    width = 0.6
    cfg = make_config(imp__fringing_px=width, imp__crosstalk_shape="exponential")
    n = cfg.input.shape[0]
    d = cfg.optics.wavelength_m * cfg.optics.f1_m / (cfg.slm.shape[0] * cfg.slm.pitch_m)
    cfg = cfg.model_copy(update={"input": cfg.input.model_copy(update={"pitch_m": d / (n - 1)})})  # a point: flat spectrum
    gray = np.zeros(cfg.slm.shape, np.uint8)
    gray[:, ::2] = 128
    with open_bench(cfg, emission=True) as bench:
        a = np.zeros(cfg.input.shape)
        a[n - 1, n - 1] = 1.0
        bench.input.show(a)
        bench.slm.display(np.zeros_like(gray))
        flat = bench.camera.capture().image.astype(np.float64)
        bench.slm.display(gray)
        image = bench.camera.capture().image.astype(np.float64)
    spot = np.unravel_index(int(np.argmax(flat)), flat.shape)
    first_order = 1.0 - image[spot] / image.sum()
    x, k = two_sided_exponential(width, 0.0)
    swing = math.pi * abs(float(np.sum(k * (-1.0) ** np.abs(x))))
    assert first_order == pytest.approx(math.sin(swing / 2) ** 2, abs=0.01)
    gaussian = math.pi * abs(float(np.sum(fringing_kernel(width) * (-1.0) ** np.abs(np.arange(fringing_kernel(width).size) - 3))))
    assert abs(first_order - math.sin(gaussian / 2) ** 2) > 0.02  # a different kernel shape, a different efficiency
