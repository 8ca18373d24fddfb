"""The simulated 4f against independent NumPy computations and closed forms (ideal preset + one imperfection at a time)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig

H, C = 6.62607015e-34, 299792458.0


def _config(**sections) -> BenchConfig:
    cfg = BenchConfig().model_dump()
    for dotted, value in sections.items():
        node = cfg
        keys = dotted.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return BenchConfig.model_validate(cfg)


def _sample_m(cfg: BenchConfig) -> float:
    """Input-plane sample pitch d = wavelength f1 / (Q p_slm) (m)."""
    return cfg.optics.wavelength_m * cfg.optics.f1_m / (cfg.slm.shape[0] * cfg.slm.pitch_m)


def _electrons_per_unit(cfg: BenchConfig) -> float:
    """Electrons per output sample for |field|^2 = 1 (closed form from the config)."""
    q = cfg.slm.shape[0]
    d = cfg.optics.wavelength_m * cfg.optics.f1_m / (q * cfg.slm.pitch_m)
    area = cfg.input.shape[0] * cfg.input.shape[1] * cfg.input.pitch_m ** 2
    photons = cfg.laser.power_mw * 1e-3 * cfg.simulation.throughput * d * d / area * cfg.camera.exposure_s / (H * C / cfg.optics.wavelength_m)
    return photons * cfg.camera.quantum_efficiency


def _pixelated_spectrum(a: np.ndarray, q: int, m: float) -> np.ndarray:
    """The transform of the pixelated input on the centred q x q frequency grid (no misalignment), plain NumPy:
    ``sum_n a_n exp(-2i pi k . y_n / q)`` (a matrix DFT) times one square pixel's ``m^2 sinc(m k0 / q) sinc(m k1 / q)``,
    with pixel n centred on the sample ``y = m (n + 0.5 - N/2) - 0.5``."""
    y = m * (np.arange(a.shape[0]) + 0.5 - a.shape[0] / 2) - 0.5
    k = np.arange(q) - q // 2
    dft = np.exp(-2j * np.pi * np.outer(k, y) / q)
    pixel = m * np.sinc(m * k / q)
    return (dft @ a @ dft.T) * np.outer(pixel, pixel)


def _reference_image(a: np.ndarray, gray: np.ndarray, cfg: BenchConfig, m: float, binning: int) -> np.ndarray:
    """|IFFT2(spectrum . M)|^2 of the pixelated input's spectrum, flipped for the 4f inversion, binned by the camera."""
    q = cfg.slm.shape[0]
    spectrum = _pixelated_spectrum(a, q, m)
    mask = np.exp(1j * 2 * np.pi * gray / 2 ** cfg.slm.bit_depth)
    image = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(spectrum * mask)))
    inverted = np.roll(image[::-1, ::-1], 1, axis=(0, 1))  # index q/2 + k <- q/2 - k
    intensity = np.abs(inverted) ** 2
    rows = cfg.camera.shape[0]
    first = q // 2 - rows * binning // 2
    window = intensity[first:first + rows * binning, first:first + rows * binning]
    return window.reshape(rows, binning, rows, binning).sum(axis=(1, 3))


@pytest.mark.parametrize("m, binning", [(1, 1), (2, 2), (1.37, 1)])
def test_ideal_frame_equals_numpy_4f(m: float, binning: int) -> None:
    cfg = _config(input__pitch_m=25e-6 * m, input__shape=(32, 32), camera__pitch_m=5e-6 * binning,
                  camera__shape=(256 // binning, 256 // binning), camera__dark_level=10.0)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, cfg.input.shape) / 255.0
    gray = rng.integers(0, 256, cfg.slm.shape).astype(np.uint8)
    with open_bench(cfg, emission=True) as bench:
        bench.input.show(a)
        bench.slm.display(gray)
        frame = bench.camera.capture()
    expected = _reference_image(a, gray, cfg, m, binning) * _electrons_per_unit(cfg) * cfg.camera.gain + 10.0
    got = frame.image.astype(np.float64)
    assert frame.image.dtype == np.float32
    assert np.linalg.norm(got - expected) / np.linalg.norm(expected) < 1e-6


def test_intensity_encoding_gives_the_same_field() -> None:
    rng = np.random.default_rng(3)
    a = rng.random((64, 64))
    frames = []
    for encoding in ("amplitude", "intensity"):
        cfg = _config(input__encoding=encoding, input__bit_depth=16)
        with open_bench(cfg, emission=True) as bench:
            bench.input.show(a)
            frames.append(bench.camera.capture().image.astype(np.float64))
    assert np.linalg.norm(frames[1] - frames[0]) / np.linalg.norm(frames[0]) < 1e-3


def test_laser_off_gives_the_dark_level() -> None:
    cfg = _config(camera__dark_level=7.0)
    with open_bench(cfg) as bench:
        bench.input.show(np.ones(cfg.input.shape))
        image = bench.camera.capture().image
    assert np.all(image == 7.0)


def _impulse_far_field(cfg: BenchConfig, gray: np.ndarray) -> np.ndarray:
    """Camera frame (float) with a single bright input pixel on the axis sample, shrunk to a point: the SLM's far field.

    With a pitch of d / (N - 1) (m = 1 / (N - 1) samples) the last pixel is centred on the axis sample
    (``m (N - 1 + 0.5 - N/2) - 0.5 = 0``) and its transform ``sinc(m k / Q)`` is flat to 1e-4 over the SLM."""
    n = cfg.input.shape[0]
    cfg = cfg.model_copy(update={"input": cfg.input.model_copy(update={"pitch_m": _sample_m(cfg) / (n - 1)})})
    with open_bench(cfg, emission=True) as bench:
        a = np.zeros(cfg.input.shape)
        a[n - 1, n - 1] = 1.0
        bench.input.show(a)
        bench.slm.display(gray)
        return bench.camera.capture().image.astype(np.float64)


def _zero_order_fraction(image: np.ndarray) -> float:
    """Fraction of the far-field power in the undiffracted spot (the sample where a flat SLM focuses)."""
    flat_spot = image.shape[0] // 2 + 1 - 1, image.shape[1] // 2
    return float(image[flat_spot] / image.sum())


def _far_field_spot(cfg: BenchConfig) -> tuple[int, int]:
    image = _impulse_far_field(cfg, np.zeros(cfg.slm.shape, np.uint8))
    return np.unravel_index(int(np.argmax(image)), image.shape)


@pytest.mark.parametrize("gamma, level", [(1.0, 128), (1.6, 128), (0.7, 64)])
def test_lut_sets_the_binary_grating_zero_order(gamma: float, level: int) -> None:
    cfg = _config(simulation__imperfections__lut_gamma=gamma, simulation__imperfections__phase_range_rad=2 * math.pi)
    gray = np.zeros(cfg.slm.shape, np.uint8)
    gray[:, ::2] = level  # binary phase grating of period 2 columns
    image = _impulse_far_field(cfg, gray)
    spot = _far_field_spot(cfg)
    delta = 2 * math.pi * (level / 256) ** gamma
    assert image[spot] / image.sum() == pytest.approx(math.cos(delta / 2) ** 2, abs=1e-4)


def test_fringing_lowers_fine_grating_efficiency_as_predicted() -> None:
    sigma = 0.6
    cfg = _config(simulation__imperfections__fringing_px=sigma)
    gray = np.zeros(cfg.slm.shape, np.uint8)
    gray[:, ::2] = 128  # 0 / pi binary grating, period 2 pixels: all light in the first order without fringing
    image = _impulse_far_field(cfg, gray)
    radius = math.ceil(sigma * 4)  # the documented truncation of the fringing Gaussian
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-x ** 2 / (2 * sigma ** 2))
    kernel /= kernel.sum()
    phase = np.pad(2 * np.pi * gray[0].astype(float) / 256, radius, mode="edge")
    blurred = np.convolve(phase, kernel, mode="valid")  # one row; the blur along rows changes nothing (constant)
    zero_order = abs(np.mean(np.exp(1j * blurred))) ** 2
    spot = _far_field_spot(cfg)
    first_order = 1.0 - image[spot] / image.sum()
    assert first_order == pytest.approx(1.0 - zero_order, abs=1e-4)
    # the closed form for an infinite grating: phase swing pi * sum(k (-1)^j) -> efficiency sin^2(swing / 2)
    swing = np.pi * abs(float(np.sum(kernel * (-1.0) ** np.abs(x))))
    assert first_order == pytest.approx(math.sin(swing / 2) ** 2, abs=0.01)
    assert first_order < 0.9


def test_zero_order_puts_power_at_the_unshifted_image() -> None:
    z, period = 0.2, 8
    images = []
    for zero_order in (0.0, z):
        cfg = _config(simulation__imperfections__zero_order=zero_order, input__shape=(16, 16))
        gray = np.tile((np.arange(cfg.slm.shape[1]) % period) * (256 // period), (cfg.slm.shape[0], 1)).astype(np.uint8)
        a = np.zeros(cfg.input.shape)
        a[4:12, 4:12] = 1.0
        with open_bench(cfg, emission=True) as bench:
            bench.input.show(a)
            bench.slm.display(gray)
            images.append(bench.camera.capture().image.astype(np.float64))
    ideal, image = images
    centre, shift = cfg.camera.shape[0] // 2, cfg.slm.shape[1] // period  # output samples = camera pixels here
    win = (slice(centre - 16, centre + 16), slice(centre - 16, centre + 16))
    deflected = (slice(centre - 16, centre + 16), slice(centre - 16 + shift, centre + 16 + shift))
    # an 8-level blazed staircase has no zero order of its own: without z the unshifted image is dark
    assert ideal[win].sum() < 1e-6 * ideal.sum()
    assert ideal[deflected].sum() == pytest.approx(ideal.sum(), rel=1e-6)  # all of it in the carrier's first order
    # t = z + (1 - z) exp(i phi): the unshifted image carries z**2 of the input power, the carrier (1 - z)**2
    assert image[win].sum() / ideal.sum() == pytest.approx(z ** 2, rel=0.01)
    assert image[deflected].sum() / ideal[deflected].sum() == pytest.approx((1 - z) ** 2, rel=0.01)


def test_cover_glass_tilt_moves_the_far_field_spot() -> None:
    rows = cols = 256
    radius = math.hypot(rows // 2, cols // 2)  # unit circle through the farthest pixel centre from (rows//2, cols//2)
    shift_samples = 6.0
    coefficient = shift_samples * math.pi * radius / cols  # Z2 = 2 rho cos(theta): phase slope 2c/radius rad per pixel
    cfg = _config(simulation__imperfections__zernike_rad={2: coefficient})
    image = _impulse_far_field(cfg, np.zeros(cfg.slm.shape, np.uint8))
    flat = _impulse_far_field(_config(), np.zeros(cfg.slm.shape, np.uint8))
    col_centroid = (image.sum(0) * np.arange(cols)).sum() / image.sum()
    flat_centroid = (flat.sum(0) * np.arange(cols)).sum() / flat.sum()
    assert abs(col_centroid - flat_centroid) == pytest.approx(shift_samples, abs=0.05)


def _spectral_response(bench, pixels: list[tuple[int, int]]) -> np.ndarray:
    """How much the output field changes when one SLM pixel is flipped by pi: proportional to |spectrum|^2 there."""
    flat = np.zeros(bench.slm.shape, np.uint8)
    bench.slm.display(flat)
    reference = bench.simulation.output_field()
    response = []
    for r, c in pixels:
        probe = flat.copy()
        probe[r, c] = 128
        bench.slm.display(probe)
        response.append(float(np.sum(np.abs(bench.simulation.output_field() - reference) ** 2)))
    return np.array(response)


@pytest.mark.parametrize("offset, rotation, scale", [((0.0, 5.0), 0.0, 1.0), ((-3.0, 2.0), 0.1, 1.1)])
def test_fourier_misalignment_puts_frequencies_where_the_truth_says(offset, rotation, scale) -> None:
    cfg = _config(simulation__imperfections__fourier_offset_px=offset, simulation__imperfections__fourier_rotation_rad=rotation,
                  simulation__imperfections__fourier_scale=scale)
    n, pad = cfg.input.shape[0], cfg.optics.pad
    i, j = np.mgrid[0:n, 0:n]
    window = np.outer(np.hanning(n), np.hanning(n))
    for bins in ((0.0, 0.0), (0.0, 8.0), (6.0, 0.0)):
        grating = 0.5 + 0.5 * np.cos(2 * np.pi * (bins[0] * i + bins[1] * j) / pad)
        s = cfg.fourier_scale()
        dc = np.array(cfg.slm.shape) // 2 + np.array(offset)
        a_mat = scale * np.array([[math.cos(rotation), -math.sin(rotation)], [math.sin(rotation), math.cos(rotation)]])
        predicted = dc + a_mat @ (s * np.array(bins))  # closed form: s = lambda f1 / (P p_in p_slm) per bin
        with open_bench(cfg, emission=True) as bench:
            assert np.allclose(bench.truth.fourier_affine[:, :2] @ bins + bench.truth.fourier_affine[:, 2], predicted)
            bench.input.show(grating * window)
            r0, c0 = (int(round(v)) for v in predicted)
            pixels = [(r, c) for r in range(r0 - 3, r0 + 4) for c in range(c0 - 3, c0 + 4)]
            response = _spectral_response(bench, pixels)
        found = np.array(pixels)[np.argmax(response)]
        centroid = (np.array(pixels) * response[:, None]).sum(0) / response.sum()
        assert np.all(np.abs(found - predicted) <= 0.75), (found, predicted)
        assert np.allclose(centroid, predicted, atol=0.5), (centroid, predicted)


def test_camera_registration_matches_truth_affine() -> None:
    cfg = _config(simulation__imperfections__camera_offset_px=(5.0, -3.0), simulation__imperfections__camera_rotation_rad=0.05,
                  simulation__imperfections__camera_magnification=1.1)
    points = [(16, 20), (40, 44), (50, 12)]
    with open_bench(cfg, emission=True) as bench:
        affine = bench.truth.camera_affine
        for r, c in points:
            a = np.zeros(cfg.input.shape)
            a[r - 1:r + 2, c - 1:c + 2] = 1.0
            bench.input.show(a)
            image = bench.camera.capture().image.astype(np.float64)
            rows, cols = np.mgrid[0:image.shape[0], 0:image.shape[1]]
            centroid = np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()
            predicted = affine[:, :2] @ np.array([r, c]) + affine[:, 2]
            assert np.allclose(centroid, predicted, atol=0.35), (centroid, predicted)


def test_dead_and_hot_pixels_and_quantisation() -> None:
    cfg = _config(simulation__imperfections__dead_pixel_fraction=0.01, simulation__imperfections__hot_pixel_fraction=0.01,
                  simulation__quantize=True, camera__bit_depth=12, laser__power_mw=0.3)
    with open_bench(cfg, emission=True) as bench:
        bench.input.show(np.ones(cfg.input.shape))
        expected = bench.simulation.expected_electrons(cfg.camera.exposure_s)
        image = bench.camera.capture().image
        truth = bench.truth
    lit = expected > 1000
    assert lit.sum() > 3000
    assert image.dtype == np.uint16 and image.max() <= 4095
    assert 0.005 < truth.hot_pixels.mean() < 0.015 and 0.005 < truth.dead_pixels.mean() < 0.015
    assert np.all(image[truth.hot_pixels] == 4095)
    assert (truth.dead_pixels & lit).sum() > 10 and np.all(image[truth.dead_pixels] == 0)
    healthy = lit & ~truth.dead_pixels & ~truth.hot_pixels
    assert np.array_equal(image[healthy], np.clip(np.rint(expected[healthy]), 0, 4095).astype(np.uint16))


@pytest.mark.parametrize("power_mw", [1e-4, 1e-6])  # ~630 e- (Gaussian shot noise) and ~6 e- (Poisson draws)
def test_noise_statistics_match_shot_and_read_noise(power_mw: float) -> None:
    cfg = _config(simulation__noise=True, camera__read_noise_e=3.0, input__shape=(256, 256), input__pitch_m=25e-6 / 4,
                  laser__power_mw=power_mw, camera__dark_level=100.0)
    with open_bench(cfg, emission=True) as bench:
        bench.input.show(np.ones(cfg.input.shape))
        mean = bench.simulation.expected_electrons(cfg.camera.exposure_s)
        image = bench.camera.capture().image.astype(np.float64)
    inner = mean > 0.5 * mean.max()
    residual = image[inner] - 100.0 - mean[inner]
    expected_var = mean[inner].mean() + 9.0
    assert abs(residual.mean()) < 0.1 * math.sqrt(expected_var)
    assert residual.var() == pytest.approx(expected_var, rel=0.05)


def _rotation(theta: float) -> np.ndarray:
    return np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])


def _misaligned(scale: float, theta: float, offset: tuple[float, float], **extra) -> BenchConfig:
    imperfections = {"fourier_scale": scale, "fourier_rotation_rad": theta, "fourier_offset_px": offset, **extra}
    return _config(**{f"simulation__imperfections__{key}": value for key, value in imperfections.items()})


MISALIGNMENTS = [(1.05, 0.08, (-3.0, 2.0)), (0.96, -0.05, (1.5, 4.0)), (1.01, 0.004, (2.3, -1.7)), (1.03, 0.0, (0.0, 0.0)),
                 (1.02, -1.6, (3.0, 1.0))]  # the last: a quarter turn more (exact index permutation) and -0.03 rad


@pytest.mark.parametrize("scale, theta, offset", MISALIGNMENTS)
def test_misaligned_spectrum_is_the_dft_at_the_inverse_affine(scale, theta, offset) -> None:
    """sim.spectrum on SLM pixel k is U(A^-1 (k - o)) / scale, U the transform of the pixelated input (plain NumPy
    sums, m = 1: pixel n is centred on the sample n - N/2, Pix(nu) = sinc(nu0 / Q) sinc(nu1 / Q)), up to the
    checkerboard sign of the stored spectrum; on 400 random SLM pixels (single precision)."""
    cfg = _misaligned(scale, theta, offset)
    rng = np.random.default_rng(5)
    a = rng.random(cfg.input.shape)
    with open_bench(cfg, emission=True) as bench:
        bench.input.show(a)
        spectrum = bench.simulation.spectrum
    q, n = cfg.slm.shape[0], cfg.input.shape[0]
    y = np.arange(n) - n // 2  # m = 1: input pixel i is the sample i - N/2
    a_q = np.rint(a * 255) / 255
    pixels = rng.integers(0, q, size=(400, 2))
    nu = np.linalg.solve(scale * _rotation(theta), (pixels - q // 2 - np.array(offset)).T)
    expected = np.einsum("pi,ij,pj->p", np.exp(-2j * np.pi * np.outer(nu[0], y) / q), a_q,
                         np.exp(-2j * np.pi * np.outer(nu[1], y) / q)) * np.sinc(nu[0] / q) * np.sinc(nu[1] / q) / scale
    got = spectrum[pixels[:, 0], pixels[:, 1]] * (-1.0) ** pixels.sum(axis=1)
    error = np.linalg.norm(got - expected) / np.linalg.norm(expected)
    assert error < 1e-5, error


@pytest.mark.parametrize("scale, theta, offset", MISALIGNMENTS)
def test_cosine_spectrum_lands_where_the_fourier_affine_says(scale, theta, offset) -> None:
    """A Gaussian-windowed cosine of frequency b bins puts its sidebands at dc + A s (+-b) (closed form from the
    config) to 0.05 SLM pixel (power centroid of |spectrum|^2), and truth.fourier_affine says the same."""
    cfg = _misaligned(scale, theta, offset)
    n, pad = cfg.input.shape[0], cfg.optics.pad
    i, j = np.mgrid[0:n, 0:n] - (n - 1) / 2  # symmetric about the input centre: symmetric sidebands
    window = np.exp(-(i ** 2 + j ** 2) / (2 * 10.0 ** 2))
    s = cfg.optics.wavelength_m * cfg.optics.f1_m / (pad * cfg.input.pitch_m * cfg.slm.pitch_m)
    dc = np.array(cfg.slm.shape) / 2 + np.array(offset)
    rows, cols = np.mgrid[0:cfg.slm.shape[0], 0:cfg.slm.shape[1]]
    for bins in ((20.0, 8.0), (-6.0, 22.0)):
        b = np.array(bins)
        with open_bench(cfg, emission=True) as bench:
            bench.input.show(window * (0.5 + 0.5 * np.cos(2 * np.pi * (b[0] * i + b[1] * j) / pad)))
            power = np.abs(bench.simulation.spectrum) ** 2
            affine = bench.truth.fourier_affine
        for sideband in (b, -b):
            predicted = dc + scale * _rotation(theta) @ (s * sideband)
            assert np.allclose(affine[:, :2] @ sideband + affine[:, 2], predicted, atol=1e-9)
            near = (rows - predicted[0]) ** 2 + (cols - predicted[1]) ** 2 < 20.0 ** 2
            weight = power * near
            centroid = np.array([(rows * weight).sum(), (cols * weight).sum()]) / weight.sum()
            assert np.all(np.abs(centroid - predicted) < 0.05), (bins, centroid, predicted)


@pytest.mark.parametrize("scale, theta, offset, camera, tolerance", [
    (1.05, 0.08, (-3.0, 2.0), {}, 0.01),
    (0.96, -0.05, (1.5, 4.0), {"camera_offset_px": (3.0, -2.0)}, 0.01),  # whole-pixel offset: exact pixel sums
    # camera rotation / magnification / sub-pixel offset: bilinear pixel sampling, a few 0.01 px of its own
    (1.04, 0.06, (2.3, -1.7), {"camera_offset_px": (2.3, -1.2), "camera_rotation_rad": 0.05, "camera_magnification": 1.1}, 0.05),
])
def test_point_images_land_where_the_camera_affine_says(scale, theta, offset, camera, tolerance) -> None:
    """Blobs on the input image where the closed-form 4f geometry says (magnification -f2 / (f1 scale), rotated by
    theta: lens 2 transforms the field on the SLM grid; then the camera registration), and truth.camera_affine agrees."""
    cfg = _misaligned(scale, theta, offset, **camera)
    n, p_in = cfg.input.shape[0], cfg.input.pitch_m
    d = cfg.optics.wavelength_m * cfg.optics.f1_m / (cfg.slm.shape[0] * cfg.slm.pitch_m)
    d_out, p_cam = d * cfg.optics.f2_m / cfg.optics.f1_m, cfg.camera.pitch_m
    mag = camera.get("camera_magnification", 1.0) * _rotation(camera.get("camera_rotation_rad", 0.0))
    centre = np.array(cfg.camera.shape) / 2 - 0.5 + np.array(camera.get("camera_offset_px", (0.0, 0.0)))
    rr, cc = np.mgrid[0:n, 0:n]
    with open_bench(cfg, emission=True) as bench:
        affine = bench.truth.camera_affine
        for r, c in [(16, 20), (40, 44), (50, 12), (32, 32), (10, 50)]:
            y_m = (np.array([r, c]) + 0.5 - n / 2) * p_in - d / 2  # pixel centre from the axis (m)
            x_m = -(cfg.optics.f2_m / cfg.optics.f1_m) * _rotation(theta) @ y_m / scale
            predicted = centre + mag @ (x_m + d_out / 2) / p_cam
            assert np.allclose(affine[:, :2] @ np.array([r, c]) + affine[:, 2], predicted, atol=1e-9)
            bench.input.show(np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * 1.5 ** 2)))
            image = bench.camera.capture().image.astype(np.float64)
            rows, cols = np.mgrid[0:image.shape[0], 0:image.shape[1]]
            centroid = np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()
            assert np.all(np.abs(centroid - predicted) < tolerance), ((r, c), centroid, predicted)


def _small_bench(m: float, scale: float, theta: float, offset: tuple[float, float]) -> BenchConfig:
    """Q = 64 SLM, N = 8 modulator of m samples per pixel, double precision, the given Fourier misalignment."""
    q = 64
    d = _sample_m(BenchConfig()) * BenchConfig().slm.shape[0] / q
    return _config(slm__shape=(q, q), input__shape=(8, 8), input__pitch_m=m * d, camera__shape=(q, q),
                   simulation__precision="double", simulation__imperfections__fourier_scale=scale,
                   simulation__imperfections__fourier_rotation_rad=theta, simulation__imperfections__fourier_offset_px=offset)


def _brute_force_spectrum(a: np.ndarray, q: int, m: float, scale: float, theta: float, offset: tuple[float, float]) -> np.ndarray:
    """``U(A^-1 (k - o)) / scale`` on every SLM pixel k, a double loop over the modulator pixels (closed form):
    ``U(nu) = m^2 sinc(m nu0 / q) sinc(m nu1 / q) sum_n a_n exp(-2i pi nu . y_n / q)``, y_n = m (n + 0.5 - N/2) - 0.5."""
    n = a.shape[0]
    y = m * (np.arange(n) + 0.5 - n / 2) - 0.5
    k = np.arange(q) - q // 2
    rows, cols = np.meshgrid(k - offset[0], k - offset[1], indexing="ij")
    inverse = np.linalg.inv(scale * _rotation(theta))
    nu0 = inverse[0, 0] * rows + inverse[0, 1] * cols
    nu1 = inverse[1, 0] * rows + inverse[1, 1] * cols
    total = np.zeros((q, q), complex)
    for i in range(n):
        for j in range(n):
            total += a[i, j] * np.exp(-2j * np.pi * (nu0 * y[i] + nu1 * y[j]) / q)
    return total * m * m * np.sinc(m * nu0 / q) * np.sinc(m * nu1 / q) / scale


def _stored_vs_brute_force(m: float, scale: float, theta: float, offset: tuple[float, float]) -> tuple[float, float]:
    """Relative error of sim.spectrum (checkerboard removed) against the double loop, on the whole SLM and inside the
    modulator grid's Nyquist band |nu| < Q / (2 m) (random 8-bit pixel values, fixed seed)."""
    cfg = _small_bench(m, scale, theta, offset)
    q = cfg.slm.shape[0]
    a = np.random.default_rng(11).integers(0, 256, cfg.input.shape) / 255.0
    with open_bench(cfg, emission=True) as bench:
        bench.input.show(a)
        got = bench.simulation.spectrum * np.outer((-1.0) ** np.arange(q), (-1.0) ** np.arange(q))
    expected = _brute_force_spectrum(a, q, m, scale, theta, offset)
    k = np.arange(q) - q // 2
    nu = np.einsum("ij,jrc->irc", np.linalg.inv(scale * _rotation(theta)),
                   np.stack(np.meshgrid(k - offset[0], k - offset[1], indexing="ij")))
    band = np.abs(nu).max(axis=0) < q / (2 * m)
    whole = np.linalg.norm(got - expected) / np.linalg.norm(expected)
    inside = np.linalg.norm((got - expected)[band]) / np.linalg.norm(expected[band])
    return whole, inside


@pytest.mark.parametrize("m", [1.37, 2.6])
def test_pixelated_input_spectrum_equals_the_closed_form(m: float) -> None:
    """Non-integer samples per modulator pixel, offset and scale 1.02, no rotation: the chirp-z path is exact."""
    whole, inside = _stored_vs_brute_force(m, 1.02, 0.0, (1.3, -2.1))
    assert whole < 1e-10 and inside < 1e-10, (whole, inside)


@pytest.mark.parametrize("m, scale, theta", [(1.37, 1.02, 0.01), (2.6, 1.02, 0.01), (1.37, 0.98, 0.1), (2.6, 0.98, -1.6),
                                             (1.37, 1.0, 1.58), (2.6, 1.01, 3.1)])
def test_rotated_pixelated_input_spectrum_equals_the_closed_form(m: float, scale: float, theta: float) -> None:
    """With rotation (one FFT shear of the pixel rows, split into row-frequency bands): inside the pixel grid's
    Nyquist band and beyond it (the modulator grid's diffraction orders) to ~2e-7; the last three add quarter turns
    (the pixel grid turned by np.rot90) to residual rotations of -0.03, 0.01 and -0.04 rad."""
    whole, inside = _stored_vs_brute_force(m, scale, theta, (1.3, -2.1))
    assert inside < 1e-6, inside
    assert whole < 1e-6, whole


def _uniform_electrons(m: float, n: int) -> tuple[BenchConfig, np.ndarray]:
    """Expected electrons (camera pixel = output sample, whole window) of a uniformly lit n x n modulator of m samples
    per pixel behind a flat SLM (ideal bench, Q = 256)."""
    cfg = _config(input__shape=(n, n), input__pitch_m=m * _sample_m(BenchConfig()))
    with open_bench(cfg, emission=True) as bench:
        bench.input.show(np.ones(cfg.input.shape))
        bench.slm.display(np.zeros(cfg.slm.shape, np.uint8))
        return cfg, bench.simulation.expected_electrons(cfg.camera.exposure_s)


@pytest.mark.parametrize("m, n", [(2.0, 32), (1.0, 64), (1.37, 64)])
def test_uniform_modulator_photometry(m: float, n: int) -> None:
    """A uniformly lit modulator is one box of L = N m samples: per axis its transform is ``L sinc(L k / Q)``, so the
    camera (the whole window) gets ``(sum_k L^2 sinc^2(L k / Q) / Q)^2`` electrons per unit (closed form); that is the
    old model's ``(N m)^2`` (every pixel m^2 samples of amplitude 1) less the sinc tails beyond the SLM window
    (< 1 %: 0.6 % here); inside, the image has the flat level of one electron unit per output sample."""
    cfg, electrons = _uniform_electrons(m, n)
    q, length = cfg.slm.shape[0], n * m
    k = np.arange(q) - q // 2
    per_axis = np.sum((length * np.sinc(length * k / q)) ** 2) / q
    unit = _electrons_per_unit(cfg)
    assert electrons.sum() == pytest.approx(per_axis ** 2 * unit, rel=1e-5)
    assert electrons.sum() == pytest.approx(length ** 2 * unit, rel=0.01)
    centre = q // 2
    half = int(length / 4)
    inner = electrons[centre - half:centre + half, centre - half:centre + half] / unit
    assert inner.mean() == pytest.approx(1.0, abs=2e-3)
    assert np.abs(inner - 1.0).max() < 0.02  # the ringing of the window's band limit
