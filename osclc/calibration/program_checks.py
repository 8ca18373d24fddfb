"""Checks of an optical program's fields (:mod:`osclc.calibration.program`): per-pattern exposures and frame counts,
finite arrays, gray-level ranges, and the error a program that cannot be used raises."""

from __future__ import annotations

import numpy as np

MAX_FRAMES = 64
"""Most camera frames averaged for one pattern."""


class ProgramError(ValueError):
    """A program that cannot be used (bad folder, NaN, wrong shapes, another bench); the message says why and the fix."""


def all_finite(values: np.ndarray) -> bool:
    """True when no element is NaN or infinite (its min and max are finite: NaN propagates through both)."""
    values = np.asarray(values)
    return values.size == 0 or bool(np.isfinite(values.min()) and np.isfinite(values.max()))


def lowest(values: np.ndarray) -> int:
    """Smallest element of an integer array (0 for unsigned types, which cannot be negative: no pass over them)."""
    return 0 if np.issubdtype(values.dtype, np.unsignedinteger) else int(values.min())


def per_pattern_exposures(exposure_s: object, patterns: int) -> np.ndarray:
    """``exposure_s`` (one number, or one per pattern) as float64 [patterns] (a scalar repeated; a list kept as given)."""
    try:
        values = np.asarray(exposure_s, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ProgramError(f"exposure_s must be seconds (one number or one per pattern), got {exposure_s!r}") from exc
    return np.full(patterns, float(values)) if values.ndim == 0 else values.copy()


def check_exposures(exposures: np.ndarray, patterns: int) -> None:
    """Raise :class:`ProgramError` unless ``exposures`` is [patterns] finite seconds > 0."""
    exposures = np.asarray(exposures, dtype=np.float64)
    if exposures.shape != (patterns,):
        raise ProgramError(f"exposure_s has shape {exposures.shape}; give one exposure (s) per pattern ({patterns}) or one for all")
    if not (all_finite(exposures) and (exposures.size == 0 or exposures.min() > 0)):
        raise ProgramError(f"exposure_s must be positive, finite seconds, got {exposures.tolist()}")


def frame_counts(frames: object, patterns: int) -> np.ndarray:
    """``frames`` as int64 [patterns], each 1 .. MAX_FRAMES; raises :class:`ProgramError` naming the fix otherwise."""
    try:
        values = np.asarray(frames, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ProgramError(f"frames must be whole numbers of camera frames per pattern, got {frames!r}") from exc
    if values.shape != (patterns,):
        raise ProgramError(f"frames has shape {values.shape}; give one frame count per pattern ({patterns}) or one for all")
    if values.size and not (all_finite(values) and np.all(values == np.round(values)) and values.min() >= 1 and values.max() <= MAX_FRAMES):
        raise ProgramError(f"frames must be whole numbers 1 .. {MAX_FRAMES} (camera frames averaged per pattern), got {values.tolist()}")
    return values.astype(np.int64)
