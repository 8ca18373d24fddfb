"""The SLM phase response: gray level -> phase (the measured LUT) and its inverse, phase -> gray level.

The LUT ``phase_rad[g]`` is the phase (radians) the SLM adds at gray level ``g``, relative to gray
level 0, for every level ``g = 0 .. 2**bits - 1``; it is monotone and should cover at least 2*pi.
Displaying a wanted phase ``theta`` means wrapping it into ``[phase_rad[0], phase_rad[0] + 2*pi)``
and taking the gray level whose phase is nearest (circularly, so a phase just below
``phase_rad[0] + 2*pi`` may pick level 0). The inverse is a table over ``INVERSE_SAMPLES``
evenly spaced phases, so mapping a 1920 x 1152 pattern is one multiply, one modulo and one gather.
"""

from __future__ import annotations

import numpy as np

TWO_PI = 2.0 * np.pi
INVERSE_SAMPLES = 4096


class LutError(ValueError):
    """A phase LUT that cannot be used (wrong length, NaN, not increasing); the message says which."""


def check_lut(phase_rad: np.ndarray, bits: int | None = None) -> np.ndarray:
    """Validate a LUT (1-D, finite, overall increasing, length ``2**bits`` when ``bits`` is given); float64 copy."""
    lut = np.asarray(phase_rad, dtype=np.float64)
    if lut.ndim != 1 or lut.size < 2:
        raise LutError(f"lut.phase_rad must be a 1-D array of one phase per gray level, got shape {lut.shape}")
    if bits is not None and lut.size != 2**bits:
        raise LutError(f"lut.phase_rad has {lut.size} entries but the SLM has {bits} bits ({2**bits} gray levels)")
    if not np.all(np.isfinite(lut)):
        raise LutError("lut.phase_rad contains NaN or infinity; re-run `osclc calibrate lut`")
    if lut[-1] <= lut[0]:
        raise LutError(
            f"lut.phase_rad does not increase (first {lut[0]:.3f} rad, last {lut[-1]:.3f} rad); re-run `osclc calibrate lut`"
        )
    return lut


def linear_lut(bits: int, full_range_rad: float = TWO_PI) -> np.ndarray:
    """The nominal LUT: phase rising linearly from 0 to ``full_range_rad * (1 - 2**-bits)`` (radians)."""
    levels = 2**bits
    return np.arange(levels, dtype=np.float64) * (full_range_rad / levels)


def inverse_table(phase_rad: np.ndarray, samples: int = INVERSE_SAMPLES) -> np.ndarray:
    """Gray level (uint16) for ``samples`` phases ``phase_rad[0] + 2*pi*j/samples``, nearest circularly.

    A non-monotone measured LUT is made monotone first (running maximum), so noise cannot make two
    phases swap their gray levels.
    """
    lut = np.maximum.accumulate(check_lut(phase_rad))
    theta = lut[0] + TWO_PI * np.arange(samples) / samples
    # Candidates: the levels of this 2*pi turn and of the next turn (phase + 2*pi wraps to level 0 side).
    extended = np.concatenate([lut, lut + TWO_PI])
    levels = np.concatenate([np.arange(lut.size), np.arange(lut.size)])
    return levels[_nearest(extended, theta)].astype(np.uint16)


def _nearest(ascending: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of the entry of ``ascending`` nearest to each of ``values`` (the lower one on a tie)."""
    upper = np.clip(np.searchsorted(ascending, values), 1, ascending.size - 1)
    pick_upper = np.abs(ascending[upper] - values) < np.abs(values - ascending[upper - 1])
    return np.where(pick_upper, upper, upper - 1)


def phase_to_gray(phase: np.ndarray, phase_rad: np.ndarray, table: np.ndarray | None = None) -> np.ndarray:
    """Gray levels (uint16, same shape as ``phase``) that display the wanted phases ``phase`` (radians).

    ``table`` is :func:`inverse_table` of ``phase_rad`` (pass it when mapping many patterns).
    """
    lut = check_lut(phase_rad)
    table = inverse_table(lut) if table is None else table
    phase = np.asarray(phase, dtype=np.float64)
    if not np.all(np.isfinite(phase)):
        raise LutError("the phase pattern contains NaN or infinity; fix the kernel or pattern before display")
    index = np.rint(np.mod(phase - lut[0], TWO_PI) * (table.size / TWO_PI)).astype(np.int64)
    index[index == table.size] = 0
    return table[index]


def level_nearest(phase: np.ndarray, phase_rad: np.ndarray) -> np.ndarray:
    """Gray levels (uint16) whose phase is nearest to ``phase`` (radians) *without* wrapping: for patterns that
    chose their own 2 pi turns within the LUT's range (phases outside it get the first or last level)."""
    lut = np.maximum.accumulate(check_lut(phase_rad))
    phase = np.asarray(phase, dtype=np.float64)
    if not np.all(np.isfinite(phase)):
        raise LutError("the phase pattern contains NaN or infinity; fix the kernel or pattern before display")
    return _nearest(lut, phase).astype(np.uint16)
