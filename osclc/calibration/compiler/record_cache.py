"""Arrays the compiler derives from a calibration record (the dark SLM background, the dark frame at an
exposure, the input pixels' transfer on the kernel window), each computed once and kept in a small
least-recently-used cache keyed on the record's content hash (:attr:`CalibrationRecord.content_hash`).

A record loaded twice, or copied, hits the same entries; a changed record (a new object, e.g. from
``dataclasses.replace``) has another hash and gets its own. The arrays are shared between programs, so
they are returned read-only.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Hashable

import numpy as np

from osclc.calibration.record import CalibrationRecord

SIZE = 32
"""Most arrays kept (a compile uses at most 8: background checkerboards, dark frame, transfer)."""

_values: OrderedDict[tuple[str, Hashable], np.ndarray] = OrderedDict()


def cached(calibration: CalibrationRecord, key: Hashable, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()`` for (``calibration``'s content, ``key``), computed on first use and kept while among the
    :data:`SIZE` most recently used; read-only."""
    entry = (calibration.content_hash, key)
    value = _values.get(entry)
    if value is None:
        value = compute()
        value.setflags(write=False)
        _values[entry] = value
        if len(_values) > SIZE:
            _values.popitem(last=False)
    else:
        _values.move_to_end(entry)
    return value
