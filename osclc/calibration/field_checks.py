"""Type and range checks of the fields of a calibration record or program file, before anything is built from them.

Each failure raises the file's error type (a ``ValueError``) with the field, what it must be, its bound and the fix,
so a hand-edited or corrupt file never reaches the compiler or the bench as a coerced or out-of-range value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, NoReturn

import numpy as np


@dataclass(frozen=True)
class FieldChecks:
    """Checks raising ``error`` with ``fix`` (the default remedy, e.g. "re-run `osclc calibrate`") appended."""

    error: type[ValueError]
    fix: str

    def fail(self, message: str, fix: str | None = None) -> NoReturn:
        """Raise ``error`` with ``message`` and the fix."""
        raise self.error(f"{message}; {fix or self.fix}")

    def section(self, doc: Mapping[str, object], name: str) -> Mapping[str, object]:
        """``doc[name]``, which must be a JSON object."""
        value = doc.get(name)
        if not isinstance(value, dict):
            self.fail(f"{name} must be an object, got {value!r}")
        return value

    def text(self, value: object, field: str, pattern: str = r".*", what: str = "a string") -> str:
        """``value``, which must be a string matching ``pattern`` (``what`` describes it)."""
        if not (isinstance(value, str) and re.fullmatch(pattern, value)):
            self.fail(f"{field} must be {what}, got {value!r}")
        return value

    def number(self, value: object, field: str, lo: float, hi: float, unit: str, *, integer: bool = False,
               fix: str | None = None) -> float:
        """``value`` as a float when it is a number (an integer when ``integer``; never a bool) within ``lo .. hi``."""
        kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
        if isinstance(value, bool) or not isinstance(value, kinds):
            self.fail(f"{field} must be {'an integer' if integer else 'a number'} ({unit}), got {value!r}", fix)
        if not lo <= value <= hi:  # also refuses NaN
            self.fail(f"{field} = {value!r} is outside {lo:g} .. {hi:g} ({unit})", fix)
        return float(value)

    def numbers(self, value: object, field: str, lo: float, hi: float, unit: str, *, integer: bool = False) -> list[float]:
        """``value``, which must be a list of numbers each within ``lo .. hi``."""
        if not isinstance(value, list):
            self.fail(f"{field} must be a list of {'integers' if integer else 'numbers'} ({unit}), got {value!r}")
        return [self.number(v, f"{field}[{i}]", lo, hi, unit, integer=integer) for i, v in enumerate(value)]

    def shape(self, value: object, field: str, limit: int) -> tuple[int, int]:
        """``value``, which must be ``[rows, cols]`` with each size in ``1 .. limit`` pixels."""
        if not (isinstance(value, list) and len(value) == 2):
            self.fail(f"{field} must be [rows, cols], got {value!r}")
        rows, cols = (int(v) for v in self.numbers(value, field, 1, limit, "pixels", integer=True))
        return rows, cols

    def array(self, values: np.ndarray, field: str, lo: float, hi: float, unit: str, fix: str | None = None) -> None:
        """``values``, which must be a finite numeric array within ``lo .. hi``."""
        values = np.asarray(values)
        if values.dtype.kind not in "biuf":
            self.fail(f"{field} must hold numbers ({unit}), got dtype {values.dtype}", fix)
        if values.size and not (np.all(np.isfinite(values)) and values.min() >= lo and values.max() <= hi):
            self.fail(f"{field} holds values outside {lo:g} .. {hi:g} ({unit}) or NaN", fix)
