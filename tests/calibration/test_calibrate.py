"""``calibrate`` assembles a new record: the record it starts from is never modified (records are immutable once
made: the compiler keys its cache on their content hash, computed once per record)."""

from __future__ import annotations

import dataclasses

from osclc.calibration.measure.calibrate import calibrate
from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig


def test_calibrate_leaves_its_base_record_as_it_was() -> None:
    config = BenchConfig.model_validate({"simulation": {"clock": "virtual"}})
    base = CalibrationRecord.identity(config)
    identity = base.content_hash
    kept = dataclasses.replace(base)
    with open_bench(config) as bench:
        result = calibrate(bench, "dark", base=base, run_id="run-1")
    assert base.measured == [] and base.fits == {} and base.stats == {} and base.run_id is None
    assert base.content_hash == identity == kept.content_hash
    record = result.record
    assert record is not base and record.measured == ["dark"] and record.run_id == "run-1" and "dark" in record.fits
    assert record.content_hash != identity
