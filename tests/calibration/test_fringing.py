"""SLM fringing (pixel crosstalk) and zero order: the DC model against a plain full-field computation, and the
measurement against random simulated truths (fixed seeds, noise on).

Bounds: |zero order error| <= 0.02 (field fraction); |sigma error| <= 0.05 px where sigma is identifiable
(truth >= 0.3 px). Below that the kernel's neighbour weight exp(-1/(2 sigma^2)) is under 0.4 %: no pattern
can tell the sigmas apart, so there the test bounds the neighbour weight (the effect) instead.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from osclc.calibration.measure.calibrate import calibrate
from osclc.calibration.measure.fringing import checkerboard, mean_transmittance
from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.cli.main import main


def gaussian_weights(sigma_px: float) -> np.ndarray:
    """The crosstalk kernel by its definition: a Gaussian sampled at integer offsets up to ceil(4 sigma), sum 1."""
    if sigma_px == 0:
        return np.array([1.0])
    radius = max(1, int(np.ceil(4 * sigma_px)))
    x = np.arange(-radius, radius + 1)
    weights = np.exp(-x**2 / (2 * sigma_px**2))
    return weights / weights.sum()


def neighbour_weight(sigma_px: float) -> float:
    weights = gaussian_weights(sigma_px)
    return float(weights[weights.size // 2 + 1]) if weights.size > 1 else 0.0


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


@pytest.mark.parametrize("sigma", [0.0, 0.3, 0.55, 1.2])
def test_model_matches_full_field_convolution(sigma):
    rng = np.random.default_rng(3)
    blocks = np.array([1, 2, 3, 4, 6, 2])
    phases = np.concatenate([rng.uniform(0, 2 * np.pi, size=(5, 2)), [[1.0, 1.0]]])  # the last one uniform
    z = 0.07
    model = mean_transmittance(blocks, phases, sigma, z)
    expected = [full_field_mean(int(b), a, c, sigma, z) for b, (a, c) in zip(blocks, phases)]
    assert np.allclose(model, expected, atol=1e-12)


def test_model_closed_forms():
    # no blur: the mean of the two phasors; a uniform phase pi: z - (1 - z)
    assert np.isclose(mean_transmittance([2], [[0.3, 2.0]], 0.0, 0.1)[0], 0.1 + 0.9 * (np.exp(0.3j) + np.exp(2.0j)) / 2)
    assert np.isclose(mean_transmittance([0], [[np.pi, np.pi]], 0.7, 0.1)[0], 0.1 - 0.9)
    # 1-pixel squares: the blurred phase is c +- d a^2 with a = sum_k w_k (-1)^k
    w = gaussian_weights(0.6)
    a = np.sum(w * (-1.0) ** np.abs(np.arange(w.size) - w.size // 2))
    expected = np.exp(1j * 1.5) * np.cos(1.0 * a**2)  # phases 2.5 and 0.5: c = 1.5, d = 1.0
    assert np.isclose(mean_transmittance([1], [[2.5, 0.5]], 0.6, 0.0)[0], expected)


def test_checkerboard_pattern():
    board = checkerboard((6, 8), 2, 5, 9)
    assert board[0, 0] == 5 and board[0, 2] == 9 and board[2, 0] == 9 and board[3, 3] == 5 and board[5, 7] == 9


def random_bench(seed: int, fringing_px: float | None = None, zero_order: float | None = None) -> BenchConfig:
    """A noisy 256 x 256 simulated bench: fringing sigma in [0, 1] px and zero order in [0, 0.15] drawn from
    ``seed`` (or as given), with a nonlinear LUT, wavefront error, misplaced spectrum, camera offsets."""
    rng = np.random.default_rng(seed)
    sigma, z = float(rng.uniform(0.0, 1.0)), float(rng.uniform(0.0, 0.15))
    imperfections = {
        "fringing_px": sigma if fringing_px is None else fringing_px,
        "zero_order": z if zero_order is None else zero_order,
        "lut_gamma": float(rng.uniform(0.8, 1.6)),
        "phase_range_rad": float(rng.uniform(2.05, 2.35) * np.pi),
        "zernike_rad": {int(j): float(rng.uniform(-0.8, 0.8)) for j in rng.choice((4, 5, 6, 7, 8, 11), size=3, replace=False)},
        "fourier_offset_px": tuple(float(v) for v in rng.uniform(-12, 12, size=2)),
        "camera_offset_px": tuple(float(v) for v in rng.uniform(-5, 5, size=2)),
        "camera_magnification": float(rng.uniform(0.9, 1.1)),
        "dead_pixel_fraction": 1e-4,
        "hot_pixel_fraction": 1e-4,
        "seed": seed,
    }
    return BenchConfig.model_validate({
        "name": f"fringing-{seed}",
        "camera": {"dark_level": 100.0, "read_noise_e": 3.0, "gain": 0.2},
        "simulation": {"clock": "virtual", "noise": True, "quantize": True, "seed": seed, "imperfections": imperfections},
    })


def measured(config: BenchConfig) -> tuple[CalibrationRecord, float, float]:
    with open_bench(config) as bench:
        record = calibrate(bench, ["dark", "lut", "fringing"]).record
        truth = bench.truth
    return record, truth.fringing_px, truth.zero_order


# these seeds draw sigma 0.51, 0.09, 0.94, 0.33, 0.25, 0.40 px and z 0.143, 0.036, 0.077, 0.148, 0.142, 0.108
@pytest.fixture(scope="module", params=[1, 3, 4, 8, 12, 18])
def random_truth(request):
    return measured(random_bench(request.param))


def test_random_truths_within_bounds(random_truth):
    record, sigma, z = random_truth
    assert abs(record.zero_order - z) <= 0.02
    if sigma >= 0.3:
        assert abs(record.fringing_px - sigma) <= 0.05
    else:
        assert abs(neighbour_weight(record.fringing_px) - neighbour_weight(sigma)) <= 0.004
    assert record.measured == ["dark", "lut", "fringing"] and record.stats["fringing"]["captures"] > 0
    assert record.fits["fringing"]["residual_rms"] < 0.03


def test_ideal_bench_measures_no_effect():
    record, _, _ = measured(BenchConfig.model_validate({"name": "ideal", "simulation": {"clock": "virtual", "noise": True}}))
    assert record.zero_order <= 0.01
    assert neighbour_weight(record.fringing_px) <= 0.004  # sigma <= ~0.3 px: no measurable crosstalk


def test_cli_calibrate_fringing_writes_record_and_plot(tmp_path, capsys):
    bench = tmp_path / "bench.yaml"
    bench.write_text(yaml.safe_dump({"kind": "bench", "name": "cli-fringing", "simulation": {
        "clock": "virtual", "imperfections": {"fringing_px": 0.6, "zero_order": 0.1}}}))
    out, runs = tmp_path / "calib.json", tmp_path / "runs"
    assert main(["--runs-dir", str(runs), "calibrate", "fringing", "--bench", str(bench), "--out", str(out)]) == 0
    record = CalibrationRecord.load(out)
    assert record.measured == ["fringing"]
    assert abs(record.fringing_px - 0.6) <= 0.05 and abs(record.zero_order - 0.1) <= 0.02
    folder = next(p for p in runs.iterdir() if p.is_dir())
    assert (folder / "fringing.png").is_file()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["fringing_captures"] > 0 and metrics["fringing_px"] == record.fringing_px
    assert "fringing" in capsys.readouterr().out
