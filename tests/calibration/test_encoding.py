"""Encodings of complex masks on a phase-only SLM, checked with plain NumPy FFTs (far field = DFT)."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.calibration import encoding as enc


def _smooth_field(rows: int, cols: int, seed: int) -> np.ndarray:
    """A field constant on horizontal pixel pairs (the unit the checkerboard works on), |field| <= 1."""
    rng = np.random.default_rng(seed)
    pairs = rng.uniform(0, 1, (rows, cols // 2)) * np.exp(1j * rng.uniform(-np.pi, np.pi, (rows, cols // 2)))
    return np.repeat(pairs, 2, axis=1)


def test_double_phase_pairs_average_to_the_field() -> None:
    field = _smooth_field(6, 8, 0)
    t = np.exp(1j * enc.double_phase(field))
    pair_mean = 0.5 * (t[:, 0::2] + t[:, 1::2])
    np.testing.assert_allclose(pair_mean, field[:, 0::2], atol=1e-12)


def test_double_phase_far_field_is_the_field_plus_the_checkerboard_term() -> None:
    """Constant field A e^{i phi}: the DFT of exp(i theta) has only DC (= A e^{i phi}) and the (Q/2, Q/2) term."""
    q = 16
    value = 0.37 * np.exp(0.8j)
    far = np.fft.fft2(np.exp(1j * enc.double_phase(np.full((q, q), value)))) / q**2
    assert far[0, 0] == pytest.approx(value, abs=1e-12)
    assert abs(far[q // 2, q // 2]) == pytest.approx(np.sqrt(1 - 0.37**2), abs=1e-12)
    far[0, 0] = far[q // 2, q // 2] = 0
    assert np.max(np.abs(far)) < 1e-12


def test_double_phase_origin_shifts_the_checkerboard() -> None:
    field = np.full((4, 4), 0.5 + 0.0j)
    np.testing.assert_allclose(enc.double_phase(field, origin=(0, 1)), -enc.double_phase(field))
    np.testing.assert_allclose(enc.double_phase(field, origin=(2, 0), block=2), -enc.double_phase(field, block=2))


def test_block_double_phase_residual_lands_a_quarter_period_away() -> None:
    """2x2 squares: the DFT of exp(i theta) for a constant field has DC = field, the rest at (+-Q/4, +-Q/4)."""
    q = 16
    value = 0.6 * np.exp(-0.4j)
    far = np.fft.fft2(np.exp(1j * enc.double_phase(np.full((q, q), value), block=2))) / q**2
    assert far[0, 0] == pytest.approx(value, abs=1e-12)
    residual = np.zeros((q, q), bool)
    residual[np.ix_([q // 4, 3 * q // 4], [q // 4, 3 * q // 4])] = True
    residual[0, 0] = True
    assert np.max(np.abs(far[~residual])) < 1e-12


@pytest.mark.parametrize("amplitude,phase", [(1.0, 0.3), (0.6, -2.0), (0.2, 3.0), (0.0, 1.0)])
def test_grating_first_order_carries_the_field(amplitude: float, phase: float) -> None:
    """Blazed grating of period 64 px along columns: DFT bin +Q/64 (first order) equals A e^{i phi}.

    (The encoding is exact for a continuous grating; pixelation aliases higher orders into the first
    by about 1/period of the amplitude.)
    """
    q, period = 128, 64
    cols = np.arange(q)
    grating_phase = np.broadcast_to(2 * np.pi * cols / period, (q, q))
    field = np.full((q, q), amplitude * np.exp(1j * phase))
    far = np.fft.fft2(np.exp(1j * enc.grating(field, grating_phase))) / q**2
    assert far[0, q // period] == pytest.approx(amplitude * np.exp(1j * phase), abs=2e-2)


def test_grating_depth_inverts_the_first_order_efficiency() -> None:
    amplitude = np.linspace(0, 1, 11)
    depth = enc.grating_depth(amplitude)
    np.testing.assert_allclose(np.sinc(1 - depth), amplitude, atol=1e-4)
    assert np.all(np.diff(depth) > 0)


def test_phase_only_shows_the_phase_and_zero_in_the_dark() -> None:
    field = np.array([[np.exp(0.5j), 0.0], [np.exp(-1.2j), 1.0]])
    np.testing.assert_allclose(enc.phase_only(field), [[0.5, 0.0], [-1.2, 0.0]])


@pytest.mark.parametrize("bad", [np.array([[np.nan, 0.1]]), np.array([[1.5 + 0j, 0.1]])])
def test_unshowable_fields_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(enc.EncodingError):
        enc.double_phase(bad)
    with pytest.raises(enc.EncodingError):
        enc.grating(bad, np.zeros(bad.shape))
