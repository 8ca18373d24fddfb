"""The compiler: mask design against plain NumPy FFT optics, layout, frame rates, refusals, and the
compiled program run on the simulated bench (features vs the digital folded student)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from osclc.calibration.compiler import frame_rate
from osclc.calibration.compiler import kernel_resampling as kr
from osclc.calibration.compiler import CompileError, compile_program, fit_normalisation, normalised_correlation
from osclc.calibration.compiler.layout import period_lattice, plan_layout
from osclc.calibration.record import CalibrationError, CalibrationRecord
from osclc.calibration.execute import run_image
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig

PAD, SIZE, GRID = 16, 8, 8


def _compact_kernel(seed: int, c_in: int = 1, c_out: int = 1) -> np.ndarray:
    """Centred spectra [c_in, c_out, GRID, GRID] of random 3x3 spatial kernels placed anywhere in the P window."""
    rng = np.random.default_rng(seed)
    out = np.empty((c_in, c_out, GRID, GRID), np.complex128)
    lo = PAD // 2 - GRID // 2
    for i in range(c_in):
        for o in range(c_out):
            spatial = np.zeros((PAD, PAD), np.complex128)
            spatial[:3, :3] = rng.normal(size=(3, 3))
            spatial = np.roll(spatial, tuple(rng.integers(-4, 4, 2)), axis=(0, 1))
            out[i, o] = np.fft.fftshift(np.fft.fft2(spatial))[lo : lo + GRID, lo : lo + GRID]
    return out


def _digital_field(kernel: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The folded student's output field [c_out, h, w] computed with plain NumPy (spectral_grid conventions)."""
    offset = (PAD - SIZE) // 2
    padded = np.zeros((image.shape[0], PAD, PAD))
    padded[:, offset : offset + SIZE, offset : offset + SIZE] = image
    lo = PAD // 2 - GRID // 2
    spectrum = np.fft.fftshift(np.fft.fft2(padded), axes=(-2, -1))[:, lo : lo + GRID, lo : lo + GRID]
    mixed = np.einsum("ihw,iohw->ohw", spectrum, kernel)
    return np.fft.ifft2(np.fft.ifftshift(mixed, axes=(-2, -1))) * (GRID * GRID / PAD**2)


def test_mask_reproduces_the_digital_field_through_numpy_optics() -> None:
    """Fine-grid 4f (FFT, mask, inverse FFT: linear convolution) read at the readout points = digital field."""
    s = 8
    q = s * PAD
    u = (np.arange(q) - q // 2) / s
    bins = np.stack(np.meshgrid(u, u, indexing="ij"), axis=-1)
    rng = np.random.default_rng(1)
    for seed in range(3):
        kernel = _compact_kernel(seed)
        centre = kr.kernel_centre(kernel[0, 0], PAD)
        rows = kr.readout_positions(kr.readout_start(centre[0], SIZE, PAD), GRID, PAD)
        cols = kr.readout_positions(kr.readout_start(centre[1], SIZE, PAD), GRID, PAD)
        d_row, d_col = kr.differences(rows, SIZE, PAD), kr.differences(cols, SIZE, PAD)
        weights = kr.mask_weights(kernel[0, 0], d_row, d_col, PAD, regularisation=1e-4)
        mask = kr.mask_values(weights, d_row, d_col, bins, (GRID, GRID), PAD)
        image = rng.random((1, SIZE, SIZE))
        plane = np.zeros((q, q))
        offset = (PAD - SIZE) // 2
        plane[offset : offset + SIZE, offset : offset + SIZE] = image[0]
        out = np.fft.ifft2(np.fft.ifftshift(np.fft.fftshift(np.fft.fft2(plane)) * mask))
        optical = np.abs(out[np.ix_(np.round(rows).astype(int) % q, np.round(cols).astype(int) % q)]) ** 2
        digital = np.abs(_digital_field(kernel, image)[0]) ** 2
        assert normalised_correlation(optical, digital) > 0.999
        scale = np.sum(optical * digital) / np.sum(optical**2)
        assert np.max(np.abs(scale * optical - digital)) < 0.03 * digital.max()


def test_aperture_is_dark_outside_the_kernel_window() -> None:
    kernel = _compact_kernel(0)[0, 0]
    d = np.arange(-10.0, 11.0)
    weights = kr.mask_weights(kernel, d, d, PAD)
    outside = np.array([[GRID / 2 + 0.6, 0.0], [0.0, -GRID / 2 - 0.6], [5.0, 5.0]])
    np.testing.assert_array_equal(kr.mask_values(weights, d, d, outside, (GRID, GRID), PAD), 0)


def _config(**updates) -> BenchConfig:
    config = BenchConfig.model_validate({"simulation": {"clock": "virtual"}})
    return config.model_copy(update=updates) if updates else config


def test_layout_keeps_readout_windows_clear_of_the_zero_order_and_each_other() -> None:
    config = _config()
    calibration = CalibrationRecord.identity(config)
    lattice = period_lattice(calibration.fourier_affine[:, :2] * (calibration.fourier_pad / PAD), PAD)
    starts = np.zeros((4, 2))
    layout = plan_layout("space", "double_phase", 1, 4, SIZE, PAD, starts, calibration.input_shape, lattice,
                         calibration.camera_affine, calibration.camera_shape)
    assert layout is not None
    origin = layout.input_corner[0] - (PAD - SIZE) // 2
    image_centre = layout.input_corner[0] + SIZE / 2
    windows = origin + starts + layout.output_shift + PAD / 2
    # every window (P wide) is at least P/2 + N/2 + margins away from the zero-order image on some axis
    assert np.all(np.max(np.abs(windows - image_centre), axis=1) >= PAD / 2 + SIZE / 2 + PAD / 2)
    gaps = np.abs(windows[:, None, :] - windows[None, :, :]).max(axis=-1) + np.eye(4) * 1e9
    assert gaps.min() >= PAD + SIZE


def test_frame_rates_follow_the_bench_timing() -> None:
    config = BenchConfig.model_validate({
        "input": {"settle_s": 0.01}, "slm": {"settle_s": 0.02, "refresh_hz": 60.0},
        "camera": {"readout_s": 0.005, "link_MBps": 100.0, "shape": [100, 200], "bit_depth": 12},
    })
    transfer = 100 * 200 * 2 / 100e6
    capture = 0.001 + 0.005 + transfer
    assert frame_rate.image_period_s("space", 8, config, 0.001) == pytest.approx(0.01 + capture)
    assert frame_rate.image_period_s("time", 8, config, 0.001) == pytest.approx(0.01 + 8 * (0.02 + capture))
    assert frame_rate.predicted_frame_rate_hz("time", 1, config, 0.001) == pytest.approx(1 / (0.01 + capture))
    # one exposure per pattern (a program after auto-exposure)
    exposures = [0.001, 0.004, 0.0005]
    assert frame_rate.image_period_s("time", 3, config, exposures) == pytest.approx(
        0.01 + 3 * 0.02 + sum(e + 0.005 + transfer for e in exposures))
    # frames averaged per pattern: each a full capture, one SLM switch per pattern
    assert frame_rate.image_period_s("time", 3, config, exposures, [1, 4, 2]) == pytest.approx(
        0.01 + 3 * 0.02 + sum(n * (e + 0.005 + transfer) for e, n in zip(exposures, [1, 4, 2])))
    assert frame_rate.image_period_s("space", 8, config, 0.001, 3) == pytest.approx(0.01 + 3 * capture)


@dataclass
class _Folded:
    """The attributes of a FoldedSCLC the compiler reads (digital features computed here with NumPy)."""

    kernel: np.ndarray
    pad: int = PAD
    input_size: int = SIZE
    detector: str = "intensity"

    @property
    def out_size(self) -> tuple[int, int]:
        return self.kernel.shape[-2:]

    def features(self, images: np.ndarray) -> np.ndarray:
        return np.stack([np.abs(_digital_field(self.kernel, image)) ** 2 for image in images])


def test_bad_inputs_are_refused() -> None:
    config = _config()
    calibration = CalibrationRecord.identity(config)
    bad = _compact_kernel(0)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(kr.KernelError, match="NaN"):
        compile_program(_Folded(bad), calibration, config)
    with pytest.raises(kr.KernelError, match="shape"):
        compile_program(_Folded(_compact_kernel(0)[0]), calibration, config)
    with pytest.raises(CompileError, match="intensity"):
        compile_program(_Folded(_compact_kernel(0), detector="field"), calibration, config)
    other = BenchConfig.model_validate({"name": "other", "simulation": {"clock": "virtual"}})
    with pytest.raises(CalibrationError, match="another bench"):
        compile_program(_Folded(_compact_kernel(0)), CalibrationRecord.identity(other), config)



@pytest.mark.parametrize(("option", "value"), [
    ("multiplex", "both"), ("encoding", "amplitude"), ("input_scale", 0), ("fringing_px", -0.1), ("input_pixel_width", 1.5),
])
def test_bad_options_are_refused_naming_the_option(option, value) -> None:
    config = _config()
    with pytest.raises(CompileError, match=f"{option}="):
        compile_program(_Folded(_compact_kernel(0)), CalibrationRecord.identity(config), config, **{option: value})
    with pytest.raises(TypeError, match="colour"):
        compile_program(_Folded(_compact_kernel(0)), CalibrationRecord.identity(config), config, colour="red")  # type: ignore[call-arg]


def _images(count: int, seed: int) -> np.ndarray:
    from sklearn.datasets import load_digits

    images = (load_digits().images / 16.0).astype(np.float32)
    rng = np.random.default_rng(seed)
    return images[rng.choice(len(images), count, replace=False)][:, None]


@pytest.mark.parametrize("multiplex,encoding", [("time", "double_phase"), ("space", "grating")])
def test_compiled_program_reproduces_the_digital_features_on_the_ideal_bench(multiplex: str, encoding: str) -> None:
    config = _config()
    folded = _Folded(_compact_kernel(3, c_in=1, c_out=2))
    program = compile_program(folded, CalibrationRecord.identity(config), config, multiplex=multiplex, encoding=encoding)
    assert program.multiplex == multiplex and program.patterns.shape[0] == (2 if multiplex == "time" else 1)
    images = _images(10, 0)
    digital = folded.features(images)
    with open_bench(config, emission=True) as bench:
        fit_normalisation(bench, program, digital[:6], images[:6])
        optical = np.stack([run_image(bench, program, image) for image in images[6:]])
    for channel in range(2):
        assert normalised_correlation(optical[:, channel], digital[6:, channel]) > 0.99


def test_trained_shape_student_compiles_against_its_torch_features() -> None:
    """A folded SCLC (random weights) through the ideal bench: camera features vs FoldedSCLC.features."""
    from osclc.models.networks.architecture import ClassificationArch, build_model
    from osclc.models.folding import fold

    torch.manual_seed(0)
    folded = fold(build_model(ClassificationArch(), 1, SIZE, 10).eval())
    config = _config()
    program = compile_program(folded, CalibrationRecord.identity(config), config)
    images = _images(8, 1)
    with torch.no_grad():
        digital = folded.features(torch.from_numpy(images)).numpy()
    keep = list(range(0, folded.out_channels, 8))
    with open_bench(config, emission=True) as bench:
        fit_normalisation(bench, program, digital[:5], images[:5])
        optical = np.stack([run_image(bench, program, image) for image in images[5:]])
    for channel in keep:
        assert normalised_correlation(optical[:, channel], digital[5:, channel]) > 0.99


@pytest.mark.parametrize("angle", [0.0, 0.01])
def test_fast_mask_on_pixels_equals_the_direct_sum(angle: float) -> None:
    """The factorised / interpolated evaluation equals sum_d w[d] exp(-2 pi i u.(d + shift) / P) at every pixel."""
    kernel = _compact_kernel(2)[0, 0]
    d = np.arange(-9.0, 14.0)
    weights = kr.mask_weights(kernel, d, d, PAD)
    scale = 0.1  # bins per SLM pixel
    linear = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    to_bins = np.concatenate([linear, np.array([[-5.2], [-4.9]])], axis=1)
    rows, cols = np.arange(0, 100), np.arange(3, 98)
    shift = np.array([7.0, -31.0])
    fast = kr.mask_on_pixels(weights, d, d, to_bins, rows, cols, (GRID, GRID), PAD, shift)
    grid = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).astype(float)
    bins = grid @ to_bins[:, :2].T + to_bins[:, 2]
    direct = kr.mask_values(weights, d, d, bins, (GRID, GRID), PAD) * np.exp(-2j * np.pi * (bins @ shift) / PAD)
    assert np.max(np.abs(fast - direct)) < 2e-3 * np.max(np.abs(direct))


def test_realistic_bench_measured_calibration_against_skipped() -> None:
    """Acceptance in small: the realistic simulated bench (noise, LUT, wavefront, fringing, zero order,
    misalignments), a 2-channel student; with the measured calibration the camera features follow the
    digital ones, with the calibration skipped (identity record) they do not. The full figures (64-channel
    digits student, test set, accuracy) are in ``benchmarks/optical_accuracy.py``."""
    from osclc.calibration.measure.calibrate import calibrate
    from osclc.configs import bundled
    from osclc.lab.config.files import load_config

    config = load_config(bundled("bench-sim-realistic.yaml"), kind="bench")
    config = config.model_copy(update={"simulation": config.simulation.model_copy(update={"clock": "virtual"})})
    with open_bench(config) as bench:
        measured = calibrate(bench, "all").record
    folded = _Folded(_compact_kernel(5, c_in=1, c_out=2))
    images = _images(14, 2)
    digital = folded.features(images)
    results = {}
    for name, record in (("measured", measured), ("skipped", CalibrationRecord.identity(config))):
        program = compile_program(folded, record, config)
        with open_bench(config, emission=True) as bench:
            fit_normalisation(bench, program, digital[:8], images[:8])
            optical = np.stack([run_image(bench, program, image) for image in images[8:]])
        results[name] = [normalised_correlation(optical[:, o], digital[8:, o]) for o in range(2)]
    assert min(results["measured"]) > 0.95, results
    assert max(results["skipped"]) < 0.6, results
