"""The compiler's cache of arrays derived from a calibration record: keyed on the record's content (a copy or a
reload hits, a changed record misses), bounded, read-only; and the content hash itself."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from osclc.calibration.compiler import record_cache
from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench_config import BenchConfig


@pytest.fixture()
def record() -> CalibrationRecord:
    return CalibrationRecord.identity(BenchConfig())


def test_cache_is_keyed_on_the_records_content(record, tmp_path) -> None:
    calls: list[int] = []

    def compute() -> np.ndarray:
        calls.append(1)
        return np.arange(4.0)

    first = record_cache.cached(record, ("test", 1), compute)
    reloaded = CalibrationRecord.load(record.save(tmp_path / "calib.json"))
    assert reloaded is not record and reloaded.content_hash == record.content_hash
    assert record_cache.cached(reloaded, ("test", 1), compute) is first and len(calls) == 1
    changed = dataclasses.replace(record, zero_order=0.1)
    record_cache.cached(changed, ("test", 1), compute)
    record_cache.cached(record, ("test", 2), compute)
    assert len(calls) == 3
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 1.0


def test_cache_keeps_the_most_recently_used(record) -> None:
    calls: list[int] = []

    def compute(i: int) -> np.ndarray:
        calls.append(i)
        return np.zeros(1)

    for i in range(record_cache.SIZE + 5):
        record_cache.cached(record, ("bounded", i), lambda i=i: compute(i))
    record_cache.cached(record, ("bounded", record_cache.SIZE + 4), lambda: compute(-1))  # recent: kept
    record_cache.cached(record, ("bounded", 0), lambda: compute(-2))  # the oldest: dropped, computed again
    assert calls[-1] == -2 and -1 not in calls


def test_content_hash_covers_every_array_and_field(record) -> None:
    base = record.content_hash
    assert len(base) == 64 and record.content_hash == base  # computed once, then the same
    wavefront = record.wavefront_phase_rad.copy()
    wavefront[3, 4] += 1e-9
    bad = record.bad_pixels.copy()
    bad[0, 0] = True
    for changed in (dataclasses.replace(record, wavefront_phase_rad=wavefront), dataclasses.replace(record, bad_pixels=bad),
                    dataclasses.replace(record, fringing_px=0.3), dataclasses.replace(record, run_id="other")):
        assert changed.content_hash != base
