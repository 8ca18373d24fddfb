"""``osclc calibrate all|dark|fourier|lut|wavefront|camera|fringing --bench CONFIG --out calib.json``.

Measures the bench through its drivers and writes the calibration record (JSON + sibling .npz) to
``--out``; a partial calibration updates the record already at ``--out`` (same bench) or starts from
the nominal one. The run folder holds a copy of the record, the per-step captures and seconds as
metrics, and the plots (LUT curve, affine fits, wavefront, dark frame, fringing: the DC spot's power
measured and fitted).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from osclc.calibration.measure.calibrate import calibrate
from osclc.calibration.measure.fringing import FringingResult, mean_transmittance
from osclc.calibration.record import CALIBRATIONS, CalibrationRecord
from osclc.drivers.bench import open_bench
from osclc.lab.plots.calibration import plot_calibration
from osclc.lab.config.files import load_config
from osclc.lab.runs import Run
from osclc.storage import save_figure


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` command."""
    parser = sub.add_parser("calibrate", help="measure the bench (dark, LUT, wavefront, SLM fringing and zero order, camera, Fourier geometry) into a calibration record")
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
    for name, stat in record.stats.items():
        print(f"  {name:10s} {int(stat['captures']):4d} captures {stat['seconds']:7.2f} s")
    print(f"calibration record: {out} (+ {out.with_suffix('.npz').name}); plots: {', '.join(p.name for p in plots)}")
    print(f"run: {run.folder}")
    return 0


def plot_fringing(result: FringingResult, path: Path) -> Path:
    """The DC spot's power (relative to a unit transmittance) measured for the uniform phases and the checkerboards,
    with the fitted model's curves (and the checkerboards' without fringing, dashed); writes ``path``."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    uniform = result.blocks == 0
    phase = np.linspace(0.0, 2 * np.pi, 200)
    ax.plot(result.phases_rad[uniform, 0], result.measured[uniform], "o", label="measured")
    ax.plot(phase, np.abs(mean_transmittance(np.zeros(phase.size), np.stack([phase, phase], 1), 0.0, result.zero_order)) ** 2,
            label=f"model, zero order {result.zero_order:.4f}")
    ax.set_xlabel("uniform phase (rad)")
    ax.set_ylabel("DC power / unit-transmittance DC power")
    ax.set_title("uniform patterns: the zero order's interference")
    ax.legend(fontsize=8)
    checker = ~uniform
    pairs = np.unique(np.round(result.phases_rad[checker], 6), axis=0)
    blocks = np.arange(1, int(result.blocks.max()) + 1)
    for i, pair in enumerate(pairs):
        chosen = checker & np.all(np.isclose(result.phases_rad, pair, atol=1e-6), axis=1)
        phases = np.repeat(pair[None], blocks.size, axis=0)
        label = f"{pair[0]:.2f} / {pair[1]:.2f} rad"
        ax2.plot(result.blocks[chosen], result.measured[chosen], "o", color=f"C{i}", label=f"measured {label}")
        for sigma, style in ((result.fringing_px, "-"), (0.0, ":")):
            ax2.plot(blocks, np.abs(mean_transmittance(blocks, phases, sigma, result.zero_order)) ** 2, style, color=f"C{i}")
    ax2.set_xlabel("checkerboard square (SLM pixels)")
    ax2.set_ylabel("DC power / unit-transmittance DC power")
    ax2.set_title(f"checkerboards: fringing sigma {result.fringing_px:.3f} px (dotted: none)", fontsize=10)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path
