"""The calibrate job: measure a bench through its drivers and write its calibration record, recorded in a run.

Used by ``osclc calibrate`` and ``osclc demo``. A partial calibration (one step) updates the record
already at ``out`` (same bench) or starts from the nominal one. The run (command ``calibrate``) holds
a copy of the record, one ``steps`` row per step (captures, seconds), one ``quality`` row per quality
figure, the summary table of the figures (``quality.txt``), the metrics and the plots (LUT curve, affine
fits, wavefront, dark frame, fringing). A step that fails its quality gate ends the job with
:class:`~osclc.calibration.quality.QualityError` (exit 1; its ``figures`` hold the table so far) after the
figures measured so far are saved in the run; ``force`` keeps going and marks the record ``forced``.
Progress shows as a tqdm bar with an estimate of the time left (each step weighted by its usual number of
captures) while ``context.progress``, else as one ``calibrating: <step>`` line per step through ``context.say``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from tqdm import tqdm

from osclc.calibration.measure.calibrate import STEPS, calibrate, parse_which, plan
from osclc.calibration.quality import Figure, QualityError, summary_table
from osclc.calibration.record import CALIBRATIONS, CalibrationRecord
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.jobs.context import JobContext
from osclc.lab.plots.calibration import plot_calibration, plot_fringing
from osclc.lab.runs import Run
from osclc.storage import save_text

WHICH = ("all", *CALIBRATIONS)
"""What a calibration job can measure: every step in order, or one step."""


@dataclass(frozen=True)
class CalibrateOptions:
    """What to calibrate and where the record goes.

    - ``bench``: the bench config (``kind: bench``);
    - ``out``: the record to write (``.json``; its arrays go beside it as ``.npz``);
    - ``which``: ``all`` or one step of :data:`~osclc.calibration.record.CALIBRATIONS`;
    - ``bench_file``: the YAML ``bench`` was read from, recorded with its SHA-256 in the run's inputs
      (None: only the config itself is recorded, in the manifest);
    - ``force``: keep going past failed quality gates and write the record marked ``forced``.
    """

    bench: BenchConfig
    out: Path
    which: str = "all"
    bench_file: Path | None = None
    force: bool = False

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


class StepProgress:
    """A tqdm bar over the steps of a calibration, each weighted by its usual captures (:data:`STEPS`), so that
    tqdm's rate gives an estimate of the time left; call it with each step's label as the step starts. Without a
    bar (``enabled`` False) each step is one ``calibrating: <label>`` line through ``say``."""

    def __init__(self, steps: Sequence[str], enabled: bool, say: Callable[[str], None]) -> None:
        self._weights = {STEPS[step][0]: STEPS[step][1] for step in steps}
        self._current: str | None = None
        self._say = None if enabled else say
        self.bar = tqdm(total=sum(self._weights.values()), desc="calibrating", unit="capture", disable=not enabled,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} elapsed, ~{remaining} left")

    def __call__(self, label: str) -> None:
        self._finish_step()
        self._current = label
        self.bar.set_description(f"calibrating: {label}")
        if self._say is not None:
            self._say(f"calibrating: {label}")

    def _finish_step(self) -> None:
        if self._current is not None:
            self.bar.update(self._weights.get(self._current, 0))

    def close(self) -> None:
        """Count the last step and close the bar."""
        self._finish_step()
        self._current = None
        self.bar.close()


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
        progress = StepProgress(plan(parse_which(options.which)), context.progress, context.say)
        try:
            with open_bench(options.bench) as bench:
                result = calibrate(bench, options.which, base=base, run_id=run.run_id, progress=progress,
                                   force=options.force)
                plots = plot_calibration(result, bench, run.folder)
                if "fringing" in result.details:
                    plots.append(plot_fringing(result.details["fringing"], run.path("fringing.png")))
        except QualityError as error:
            progress.close()
            _save_quality(run, error.figures)
            raise
        progress.close()
        record = result.record
        _save_quality(run, record.quality)
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


def _save_quality(run: Run, figures: Sequence[Figure]) -> None:
    """The quality figures into the run: ``quality`` rows, the summary table ``quality.txt``, metrics."""
    save_text(run.path("quality.txt"), summary_table(figures) + "\n")
    run.append("quality", [figure.to_json() for figure in figures])
    verdicts = [figure.verdict for figure in figures]
    run.set_metrics(quality_failed=verdicts.count("fail"), quality_marginal=verdicts.count("marginal"),
                    forced=any(v == "fail" for v in verdicts))
