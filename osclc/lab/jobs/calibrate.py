"""The calibrate job: measure a bench through its drivers and write its calibration record, recorded in a run.

Used by ``osclc calibrate`` and ``osclc demo``. A partial calibration (one step) updates the record
already at ``out`` (same bench) or starts from the nominal one. The run (command ``calibrate``) holds
a copy of the record, one ``steps`` row per step (captures, seconds), the metrics and the plots (LUT
curve, affine fits, wavefront, dark frame, fringing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from osclc.calibration.measure.calibrate import calibrate
from osclc.calibration.record import CALIBRATIONS, CalibrationRecord
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.jobs.context import JobContext
from osclc.lab.plots.calibration import plot_calibration, plot_fringing
from osclc.lab.runs import Run

WHICH = ("all", *CALIBRATIONS)
"""What a calibration job can measure: every step in order, or one step."""


@dataclass(frozen=True)
class CalibrateOptions:
    """What to calibrate and where the record goes.

    - ``bench``: the bench config (``kind: bench``);
    - ``out``: the record to write (``.json``; its arrays go beside it as ``.npz``);
    - ``which``: ``all`` or one step of :data:`~osclc.calibration.record.CALIBRATIONS`;
    - ``bench_file``: the YAML ``bench`` was read from, recorded with its SHA-256 in the run's inputs
      (None: only the config itself is recorded, in the manifest).
    """

    bench: BenchConfig
    out: Path
    which: str = "all"
    bench_file: Path | None = None

    def __post_init__(self) -> None:
        if Path(self.out).suffix != ".json":
            raise ValueError(f"--out {self.out}: give a .json path (the arrays are written beside it as .npz)")
        if self.which not in WHICH:
            raise ValueError(f"which {self.which!r}: choose one of {', '.join(WHICH)}")


@dataclass(frozen=True)
class CalibrateResult:
    """The record written to ``out``, the run folder and the plots written into it."""

    record: CalibrationRecord
    out: Path
    folder: Path
    plots: list[Path]


def calibrate_bench(options: CalibrateOptions, context: JobContext = JobContext()) -> CalibrateResult:
    """Open the bench, measure ``options.which``, save the record to ``options.out`` and into the run."""
    out = Path(options.out)
    base = None
    if options.which != "all" and out.exists():
        base = CalibrationRecord.load(out, bench_config=options.bench)
    inputs = {**({"bench_config": options.bench_file} if options.bench_file else {}),
              **({"calibration": out} if base is not None else {})}
    with Run.create("calibrate", config=options.bench, device="bench", root=context.runs_dir, inputs=inputs,
                    argv=context.argv_list) as run:
        with open_bench(options.bench) as bench:
            result = calibrate(bench, options.which, base=base, run_id=run.run_id,
                               progress=lambda step: context.say(f"calibrating: {step}"))
            plots = plot_calibration(result, bench, run.folder)
            if "fringing" in result.details:
                plots.append(plot_fringing(result.details["fringing"], run.path("fringing.png")))
        record = result.record
        record.save(out)
        record.save(run.path("calib.json"))
        run.append("steps", [{"step": name, **stat} for name, stat in record.stats.items()])
        run.set_metrics(
            measured=record.measured,
            captures=int(sum(s["captures"] for s in record.stats.values())),
            seconds=float(sum(s["seconds"] for s in record.stats.values())),
            **{f"{name}_{key}": value for name, stat in record.stats.items() for key, value in stat.items()},
            **{f"{name}_rms_px": fit["rms_px"] for name, fit in record.fits.items() if "rms_px" in fit},
            **({"fringing_px": record.fringing_px, "zero_order": record.zero_order} if "fringing" in result.details else {}),
        )
    return CalibrateResult(record, out, run.folder, plots)
