"""``osclc calibrate all|dark|fourier|lut|wavefront|camera|fringing --bench CONFIG --out calib.json [--force]``:
the calibrate job (:mod:`osclc.lab.jobs.calibrate`) from the command line. It prints the quality table (step,
figure, value, bound, verdict; also saved as ``quality.txt`` in the run) and shows progress with an estimate
of the time left; a failed quality gate exits 1 naming the step, figure, bound, cause and fix."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from osclc.calibration.quality import QualityError, summary_table
from osclc.lab.config.files import load_config
from osclc.lab.jobs.calibrate import WHICH, CalibrateOptions, calibrate_bench
from osclc.lab.jobs.context import JobContext


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` command."""
    parser = sub.add_parser("calibrate", help="measure the bench (dark, LUT, wavefront, SLM fringing and zero order, camera, Fourier geometry) into a calibration record")
    parser.add_argument("which", choices=WHICH, help="which calibration to run (all runs them in order)")
    parser.add_argument("--bench", required=True, help="bench config (YAML, kind: bench), e.g. configs/bench-sim-realistic.yaml")
    parser.add_argument("--out", required=True, help="calibration record to write (.json; arrays go beside it as .npz)")
    parser.add_argument("--force", action="store_true", help="keep going past failed quality gates; the record is marked forced")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    options = CalibrateOptions(bench=load_config(args.bench, kind="bench"), out=Path(args.out), which=args.which,
                               bench_file=Path(args.bench), force=args.force)
    try:
        result = calibrate_bench(options, JobContext(runs_dir=args.runs_dir, say=tqdm.write, progress=not args.no_progress))
    except QualityError as error:
        print(summary_table(error.figures))
        raise
    print(summary_table(result.record.quality))
    if result.record.forced:
        failed = sum(f.verdict == "fail" for f in result.record.quality)
        print(f"calibration record marked forced: {failed} quality figure(s) failed their gate; do not trust it")
    for name, stat in result.record.stats.items():
        print(f"  {name:10s} {int(stat['captures']):4d} captures {stat['seconds']:7.2f} s")
    print(f"calibration record: {result.out} (+ {result.out.with_suffix('.npz').name}); plots: {', '.join(p.name for p in result.plots)}")
    print(f"run: {result.folder}")
    return 0
