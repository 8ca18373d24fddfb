"""Crosstalk (fringing) pre-compensation: the objective and its gradient, the compensated patterns against an
independent NumPy model of the blurred SLM, the dark background checkerboard, and compiled programs on a
simulated bench with fringing."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.calibration.compiler import crosstalk
from osclc.calibration import encoding as enc
from osclc.calibration.lut import level_nearest

SLM, BOX, SIGMA, ZERO = 64, (12, 10, 40, 40), 0.5, 0.05


def _gaussian(sigma: float) -> np.ndarray:
    x = np.arange(-4, 5, dtype=np.float64)
    k = np.exp(-x**2 / (2 * sigma**2))
    return k / k.sum()


def _blur(image: np.ndarray, sigma: float, mode: str = "edge") -> np.ndarray:
    """Separable Gaussian blur with plain NumPy (edge-replicated, or periodic with mode='wrap')."""
    k = _gaussian(sigma)
    padded = np.pad(image, 4, mode=mode)
    rows = np.stack([np.convolve(line, k, mode="valid") for line in padded])
    return np.stack([np.convolve(line, k, mode="valid") for line in rows.T]).T


def _band_field(t: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """sum_x t(x) exp(2 pi i f . (x - box origin)) over the whole SLM, by explicit sums."""
    r, c = np.arange(SLM) - BOX[0], np.arange(SLM) - BOX[1]
    return np.exp(2j * np.pi * np.outer(rows, r)) @ t @ np.exp(2j * np.pi * np.outer(c, cols))


def _problem(seed: int):
    rng = np.random.default_rng(seed)
    r0, c0, h, w = BOX
    yy, xx = np.mgrid[0:SLM, 0:SLM] / SLM - 0.5
    correction = 1.5 * (yy**2 + xx**2) + 0.4 * yy * xx
    rows = 0.11 + np.arange(5) / BOX[2]  # band samples no denser than the box resolves
    cols = -0.05 + np.arange(4) / BOX[3]
    # a target whose light is in the band: a sum of its frequencies, conjugated (R picks exp(-2 pi i f . x))
    amp = rng.normal(size=(rows.size, cols.size)) + 1j * rng.normal(size=(rows.size, cols.size))
    target = np.exp(-2j * np.pi * np.outer(np.arange(h), rows)) @ amp @ np.exp(-2j * np.pi * np.outer(cols, np.arange(w)))
    target /= np.abs(target).max()
    low, high = crosstalk.dark_checkerboard(2, SIGMA, ZERO, (0.0, 7.0))
    background = np.where(enc.checkerboard((SLM, SLM), block=2) > 0, high, low)
    start = enc.double_phase(target, origin=(r0, c0), block=2)
    return target[None], start[None], [crosstalk.Band([rows], [cols])], background, correction


def _independent_correlation(shown_box: np.ndarray, target: np.ndarray, band: crosstalk.Band, background: np.ndarray,
                             correction: np.ndarray) -> float:
    r0, c0, h, w = BOX
    shown = background.copy()
    shown[r0:r0 + h, c0:c0 + w] = shown_box
    t = (ZERO + (1 - ZERO) * np.exp(1j * _blur(shown, SIGMA))) * np.exp(-1j * correction)
    wanted = np.zeros((SLM, SLM), complex)
    wanted[r0:r0 + h, c0:c0 + w] = target
    y = _band_field(t, band.rows[0], band.cols[0])
    z = _band_field(wanted, band.rows[0], band.cols[0])
    return float(abs(np.vdot(z, y)) / (np.linalg.norm(z) * np.linalg.norm(y)))


def test_gradient_matches_finite_differences() -> None:
    target, start, bands, background, correction = _problem(0)
    problem = crosstalk._Problem(target, bands, background, correction, BOX, SIGMA, ZERO)
    r0, c0, h, w = BOX
    x = (start + correction[r0:r0 + h, c0:c0 + w]).reshape(-1)
    loss, grad = problem.loss_and_gradient(x)
    step = np.random.default_rng(1).normal(size=x.size) * 1e-3
    numeric = (problem.loss_and_gradient(x + step)[0] - problem.loss_and_gradient(x - step)[0]) / 2
    assert numeric == pytest.approx(grad @ step, rel=2e-2)
    assert 0 < loss < 1


def test_compensated_pattern_reproduces_the_target_under_the_blur() -> None:
    target, start, bands, background, correction = _problem(2)
    r0, c0, h, w = BOX
    naive = np.mod(start[0] + correction[r0:r0 + h, c0:c0 + w], 2 * np.pi)
    shown, fit = crosstalk.compensate(start, target, bands, background, correction, BOX, SIGMA, ZERO, (0.0, 7.0),
                                      iterations=150)
    assert shown.min() >= 0.0 and shown.max() <= 7.0
    before = _independent_correlation(naive, target[0], bands[0], background, correction)
    after = _independent_correlation(shown[0], target[0], bands[0], background, correction)
    assert after == pytest.approx(fit["correlation_after"], abs=1e-4)
    assert before < 0.99 and after > 0.9995, (before, after)


@pytest.mark.parametrize("block,sigma,zero", [(2, 0.45, 0.05), (4, 0.5, 0.08), (3, 0.0, 0.1)])
def test_dark_checkerboard_sends_no_light_to_the_zero_order(block: int, sigma: float, zero: float) -> None:
    low, high = crosstalk.dark_checkerboard(block, sigma, zero, (0.2, 6.9))
    assert 0.2 <= low < high <= 6.9
    shown = np.where(enc.checkerboard((8 * block, 8 * block), block=block) > 0, high, low)
    blurred = _blur(shown, sigma, mode="wrap") if sigma > 0 else shown
    mean = np.mean(zero + (1 - zero) * np.exp(1j * (blurred - 0.2)))
    assert abs(mean) < 1e-3


def test_dark_checkerboard_without_crosstalk_is_the_plus_minus_half_pi_pair() -> None:
    low, high = crosstalk.dark_checkerboard(1, 0.0, 0.0, (0.0, 2 * np.pi))
    assert (low, high) == pytest.approx((np.pi / 2, 3 * np.pi / 2))


def test_level_nearest_does_not_wrap() -> None:
    lut = np.linspace(0.0, 6.9, 256, endpoint=False)
    phases = np.array([-1.0, 0.0, 3.0, 6.5, 6.85, 9.0])
    expected = [int(np.argmin(np.abs(lut - min(max(p, lut[0]), lut[-1])))) for p in phases]
    np.testing.assert_array_equal(level_nearest(phases, lut), expected)


def test_compiled_program_on_a_bench_with_fringing() -> None:
    """End to end on a simulated bench whose SLM blurs its phase (sigma 0.6 px, zero order 0.05, all else ideal):
    with the crosstalk known, the compensated program's camera features follow the digital ones; the same
    program compiled as if there were no crosstalk does clearly worse."""
    import dataclasses

    import torch

    from osclc.calibration.compiler import compile_program, fit_normalisation, normalised_correlation
    from osclc.calibration.record import CalibrationRecord
    from osclc.calibration.execute import run_batch
    from osclc.drivers.bench import open_bench
    from osclc.drivers.bench_config import BenchConfig
    from osclc.models.networks.architecture import ClassificationArch, build_model
    from osclc.models.folding import fold
    from sklearn.datasets import load_digits

    config = BenchConfig.model_validate({"simulation": {"clock": "virtual", "imperfections": {"fringing_px": 0.6, "zero_order": 0.05}}})
    record = dataclasses.replace(CalibrationRecord.identity(config), fringing_px=0.6, zero_order=0.05)
    torch.manual_seed(0)
    folded = fold(build_model(ClassificationArch(channels=[4]), 1, 8, 10).eval())
    images = (load_digits().images[:14] / 16.0).astype(np.float32)[:, None]
    with torch.no_grad():
        digital = folded.features(torch.from_numpy(images)).numpy()
    worst = {}
    for name, sigma in (("compensated", None), ("ignored", 0.0)):
        program = compile_program(folded, record, config, multiplex="time", fringing_px=sigma)
        with open_bench(config, emission=True) as bench:
            fit_normalisation(bench, program, digital[:8], images[:8])
            optical = run_batch(bench, program, images[8:])
        worst[name] = min(normalised_correlation(optical[:, o], digital[8:, o]) for o in range(folded.out_channels))
    assert worst["compensated"] > 0.99 and worst["ignored"] < worst["compensated"] - 0.02, worst
