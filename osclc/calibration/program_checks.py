"""Checks of an optical program's fields (:mod:`osclc.calibration.program`): per-pattern exposures and frame counts,
finite arrays, gray-level ranges, and the error a program that cannot be used raises."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from osclc.calibration.field_checks import FieldChecks
from osclc.drivers.bench_config import BIT_DEPTH_MAX, EXPOSURE_RANGE_S, SHAPE_LIMITS

SCHEMA = "osclc.program/4"
SCHEMA_V3 = "osclc.program/3"
"""The older schema :meth:`OpticalProgram.load` still reads (one image per frame)."""
SCHEMA_V2 = "osclc.program/2"
"""The older schema :meth:`OpticalProgram.load` still reads (one frame per pattern)."""
SCHEMA_V1 = "osclc.program/1"
"""The oldest schema :meth:`OpticalProgram.load` still reads (one exposure for every pattern, one frame per pattern)."""

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


# ---------------------------------------------------------------- range checks on load
# Every scalar and small table of ``program.json`` is checked for its type and range before the program is built
# (the arrays are checked by :meth:`OpticalProgram.validate`), so a hand-edited or corrupt file is refused naming
# the field and its bound, never coerced (``int(2.7)``) or used to size an allocation (``2 ** bit_depth``).

_CHECK = FieldChecks(ProgramError, "recompile with `osclc compile`")
_GRID_MAX = SHAPE_LIMITS["input"]  # largest model grid (pixels per axis): the input modulator's


def check_program_ranges(doc: Mapping[str, object]) -> None:
    """Raise :class:`ProgramError` naming the field and its bound for any out-of-range value of a program document."""
    for name in ("multiplex", "encoding", "detector", "model_hash", "calibration_hash", "bench_hash"):
        _CHECK.text(doc.get(name), name)
    channels = doc.get("pattern_channels")
    if not (isinstance(channels, list) and all(isinstance(group, list) for group in channels)):
        _CHECK.fail(f"pattern_channels must be a list of lists of output channels, got {channels!r}")
    for p, group in enumerate(channels):
        _CHECK.numbers(group, f"pattern_channels[{p}]", 0, 65535, "output channel", integer=True)
    slm = _CHECK.section(doc, "slm")
    _CHECK.number(slm.get("bit_depth"), "slm.bit_depth", 1, BIT_DEPTH_MAX, "bits", integer=True)
    _CHECK.shape(slm.get("shape"), "slm.shape", SHAPE_LIMITS["slm"])
    patterns = int(_CHECK.number(slm.get("patterns"), "slm.patterns", 1, 65535, "patterns", integer=True))
    inp = _CHECK.section(doc, "input")
    _CHECK.shape(inp.get("shape"), "input.shape", SHAPE_LIMITS["input"])
    for name in ("image_size", "channels", "scale"):
        _CHECK.number(inp.get(name), f"input.{name}", 1, _GRID_MAX, "pixels or channels", integer=True)
    if doc["schema"] == SCHEMA:
        _CHECK.number(inp.get("images_per_frame"), "input.images_per_frame", 1, 65535, "images", integer=True)
    readout = _CHECK.section(doc, "readout")
    _CHECK.shape(readout.get("out_size"), "readout.out_size", _GRID_MAX)
    _CHECK.shape(readout.get("camera_shape"), "readout.camera_shape", SHAPE_LIMITS["camera"])
    low, high = EXPOSURE_RANGE_S
    if doc["schema"] == SCHEMA_V1:
        _CHECK.number(doc.get("exposure_s"), "exposure_s", low, high, "s")
        return
    _CHECK.number(readout.get("dark_exposure_s"), "readout.dark_exposure_s", low, high, "s")
    exposures = _CHECK.numbers(doc.get("exposure_s"), "exposure_s", low, high, "s")
    if len(exposures) != patterns:
        _CHECK.fail(f"exposure_s lists {len(exposures)} exposures for {patterns} patterns")
    if doc["schema"] in (SCHEMA, SCHEMA_V3):
        _CHECK.numbers(doc.get("frames"), "frames", 1, MAX_FRAMES, "camera frames per pattern", integer=True)
    rates = doc.get("frame_rate_hz", {})
    if not (isinstance(rates, dict) and isinstance(doc.get("info", {}), dict)):
        _CHECK.fail("frame_rate_hz and info must be objects")
    for mode, rate in rates.items():
        if rate is not None:
            _CHECK.number(rate, f"frame_rate_hz.{mode}", 0.0, 1e12, "Hz")


def check_program_array_kinds(arrays: dict[str, np.ndarray]) -> None:
    """Raise :class:`ProgramError` unless the index arrays hold integers and every other array real numbers
    (a complex or text array would be cast silently further on)."""
    for name, values in arrays.items():
        kinds = "iu" if name in ("patterns", "sample_index", "input_corner", "tile_shift") else "biuf"
        if values.dtype.kind not in kinds:
            _CHECK.fail(f"arrays.npz: {name} holds {values.dtype} values, expected {'integers' if kinds == 'iu' else 'real numbers'}")

