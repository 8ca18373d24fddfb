"""``osclc calibrate all|dark|lut|wavefront|camera|fourier --bench CONFIG --out calib.json``.

Measures the bench through its drivers and writes the calibration record (JSON + sibling .npz) to
``--out``; a partial calibration updates the record already at ``--out`` (same bench) or starts from
the nominal one. The run folder holds a copy of the record, the per-step captures and seconds as
metrics, and the plots (LUT curve, affine fits, wavefront, dark frame).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from osclc.calibration.calibrate import calibrate
from osclc.calibration.record import CALIBRATIONS, CalibrationRecord
from osclc.drivers.bench import open_bench
from osclc.lab.calibration_plots import plot_calibration
from osclc.lab.config_files import load_config
from osclc.lab.runs import Run


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` command."""
    parser = sub.add_parser("calibrate", help="measure the bench (dark, LUT, wavefront, camera, Fourier geometry) into a calibration record")
    parser.add_argument("which", choices=("all", *CALIBRATIONS), help="which calibration to run (all runs them in order)")
    parser.add_argument("--bench", required=True, help="bench config (YAML, kind: bench), e.g. configs/bench-sim-realistic.yaml")
    parser.add_argument("--out", required=True, help="calibration record to write (.json; arrays go beside it as .npz)")
    parser.set_defaults(func=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    config = load_config(args.bench, kind="bench")
    out = Path(args.out)
    if out.suffix != ".json":
        raise ValueError(f"--out {out}: give a .json path (the arrays are written beside it as .npz)")
    base = None
    if args.which != "all" and out.exists():
        base = CalibrationRecord.load(out, bench_config=config)
    inputs = {"bench_config": args.bench, **({"calibration": str(out)} if base is not None else {})}
    with Run.create("calibrate", config=config, device="bench", root=args.runs_dir, inputs=inputs) as run:
        with open_bench(config) as bench:
            result = calibrate(bench, args.which, base=base, run_id=run.run_id, progress=lambda step: print(f"calibrating: {step}"))
            plots = plot_calibration(result, bench, run.folder)
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
        )
    for name, stat in record.stats.items():
        print(f"  {name:10s} {int(stat['captures']):4d} captures {stat['seconds']:7.2f} s")
    print(f"calibration record: {out} (+ {out.with_suffix('.npz').name}); plots: {', '.join(p.name for p in plots)}")
    print(f"run: {run.folder}")
    return 0
