"""Calibration on benches it has never seen (issue 14): within bounds, refused with a cause, or silently wrong.

Draws ``--benches`` random benches (``osclc.drivers.sim.random_bench.draw_bench`` over the ranges of issue 14;
odd seeds with ``mismatch=True``: also the effects the calibration does not model) from the bundled realistic bench on
the virtual clock, calibrates each (``calibrate all``: the function the ``osclc calibrate`` job runs, with ``force``,
so that every step is measured and judged by its quality gate even after an earlier one failed) and compares each step with the
hidden truth (``calibration_accuracy.truth_errors``). Bounds: LUT <= 0.05 rad RMS, Fourier and camera affines <= 0.1 px
RMS, wavefront <= lambda/20 = 0.314 rad RMS, fringing sigma <= 0.05 px where identifiable (Gaussian kernel and
sigma >= 0.3 px; otherwise reported, not judged). The zero order is reported, not judged (issue 14 sets no bound).

Per step and bench, the outcome is one of

- ``within``: inside its bound and not refused;
- ``refused``: its quality gate failed (a failing figure of that step), or the calibration stopped there with a
  QualityError, or with a CalibrationError / DeviceError whose message names the step (issue 14's refusals);
  ``right_cause``: the refusal was warranted (the step, or one after it, is out of bounds) - only known when the run
  was forced, so that the errors of every step exist;
- ``caught_elsewhere``: out of bounds, its own gate passed, but another step refused the calibration;
- ``silently_wrong``: out of bounds and the calibration was not refused (the user gets a wrong record);
- ``crashed``: the calibration raised another error, or one that names no step (not silent, but not a gate: e.g.
  a FitError from inside a fit; ``running_step`` says where);
- ``not_measured``: the calibration stopped before (or, without ``force``, at a later step than) this one.

The overall outcome of a bench is ``refused`` (any refusal), ``crashed``, ``silently_wrong`` (some step out of bounds,
none refused) or ``within``. Goals: 0 silently wrong, >= 95 % within bounds.

End to end, on the first ``--e2e-benches`` benches whose calibration is within bounds: a small digits student
(``--channels``, trained once by the train job with the bundled config's seed) compiled with the bench's record and
run on the first ``--images`` test images (``optical_accuracy.evaluate``: the compile and infer jobs); optical minus
digital accuracy per bench and the fraction within 1 point (goal >= 90 %).

Usage: ``python benchmarks/calibration_robustness.py [--quick] [--benches N] [--out DIR]``; writes
``calibration_robustness.json`` and ``.png`` into ``benchmarks/results`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import calibration_accuracy  # noqa: E402
import optical_accuracy  # noqa: E402
from common import RESULTS, write_result  # noqa: E402

from osclc.calibration.measure.calibrate import STEPS, calibrate  # noqa: E402
from osclc.calibration.quality import QualityError  # noqa: E402
from osclc.calibration.record import CALIBRATIONS, CalibrationError, CalibrationRecord  # noqa: E402
from osclc.configs import bundled  # noqa: E402
from osclc.drivers.bench import open_bench  # noqa: E402
from osclc.drivers.bench_config import BenchConfig  # noqa: E402
from osclc.drivers.errors import DeviceError  # noqa: E402
from osclc.drivers.sim.random_bench import draw_bench  # noqa: E402
from osclc.lab.config.files import load_config  # noqa: E402
from osclc.lab.jobs.context import JobContext  # noqa: E402
from osclc.lab.jobs.train import TrainOptions, train  # noqa: E402
from osclc.models.folding import fold  # noqa: E402
from osclc.models.training.checkpoints import load_checkpoint  # noqa: E402
from osclc.storage import save_figure  # noqa: E402

JUDGED = {"lut": "lut_rad", "fourier": "fourier_px", "camera": "camera_px", "wavefront": "wavefront_rad",
          "fringing": "fringing_px"}
"""The steps judged against the truth and their error key (bounds: ``calibration_accuracy.BOUNDS``)."""
BOUNDS = {key: calibration_accuracy.BOUNDS[key] for key in JUDGED.values()}
OUTCOMES = ("within", "refused", "caught_elsewhere", "silently_wrong", "crashed", "not_measured")
REFUSALS = (QualityError, CalibrationError, DeviceError)
"""Errors that count as a refusal when their message names the step (a QualityError always does)."""
STEP_WORDS = {"dark": ("dark",), "lut": ("lut",), "far_field": ("far-field", "far field", "far_field"),
              "wavefront": ("wavefront",), "fringing": ("fringing", "zero order", "zero_order"),
              "camera": ("camera registration", "camera affine"), "fourier": ("fourier",)}
"""Words by which an error message names a step."""
LABELS = {label: step for step, (label, _) in STEPS.items()}
"""Step of each progress label of the calibration."""
GOALS = {"silently_wrong_fraction": 0.0, "within_bounds_fraction": 0.95, "e2e_within_1_point_fraction": 0.90}


def step_named(text: str) -> str | None:
    """The first step of :data:`STEP_WORDS` that ``text`` names (case-insensitive), or None."""
    lower = text.lower()
    return next((step for step, words in STEP_WORDS.items() if any(w in lower for w in words)), None)


def judged_errors(compared: dict, truth_shape: str) -> dict[str, dict[str, object]]:
    """Per judged step: its error, bound, whether it is judged (fringing only where identifiable) and within."""
    identifiable = truth_shape == "gaussian" and compared["fringing_truth_px"] >= calibration_accuracy.IDENTIFIABLE_SIGMA_PX
    steps = {}
    for step, key in JUDGED.items():
        error = float(compared["errors"][key])
        judged = identifiable if step == "fringing" else True
        steps[step] = {"error": error, "bound": BOUNDS[key], "judged": judged,
                       "within": bool(np.isfinite(error) and error <= BOUNDS[key]) if judged else True}
    return steps


@dataclass
class Attempt:
    """What one calibration run gave: the record (None when it raised), the refused steps, the error (if any) and
    the step that was running when it raised."""

    record: CalibrationRecord | None = None
    refused_steps: list[str] = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None
    running_step: str | None = None
    named_step: str | None = None


def run_calibration(bench_config: BenchConfig) -> tuple[Attempt, dict | None]:
    """Calibrate all steps of ``bench_config`` (forced where the calibration takes ``force``); the attempt and the
    comparison with the truth (None when no record came out)."""
    attempt = Attempt()
    with open_bench(bench_config) as bench:
        try:
            record = calibrate(bench, progress=lambda label: setattr(attempt, "running_step", LABELS.get(label, label)),
                               force=True).record
        except Exception as error:  # noqa: BLE001 - every failure is a figure of this benchmark
            attempt.error, attempt.error_type = str(error), type(error).__name__
            if isinstance(error, QualityError):
                attempt.named_step = error.failed[0].step
            elif isinstance(error, REFUSALS):
                attempt.named_step = step_named(str(error))
            if attempt.named_step:
                attempt.refused_steps = [attempt.named_step]
            return attempt, None
        attempt.record = record
        attempt.refused_steps = sorted({f.step for f in getattr(record, "quality", []) if f.verdict == "fail"})
        return attempt, calibration_accuracy.truth_errors(bench_config, bench, record)


def classify(attempt: Attempt, steps: dict[str, dict[str, object]] | None) -> tuple[dict[str, str], str, bool | None]:
    """Per judged step its outcome (:data:`OUTCOMES`), the bench's overall outcome, and whether a refusal had the
    right cause (None: no refusal, or not knowable because the run stopped)."""
    refused = bool(attempt.refused_steps)
    if steps is None:  # the run raised: only the step it stopped at is known
        order = list(JUDGED)
        stop = attempt.named_step or attempt.running_step
        outcome = "refused" if refused else "crashed"
        per_step = {s: (outcome if s == stop else "not_measured") for s in order}
        return per_step, outcome, None
    per_step = {}
    for step, figures in steps.items():
        if step in attempt.refused_steps:
            per_step[step] = "refused"
        elif figures["within"]:
            per_step[step] = "within"
        else:
            per_step[step] = "caught_elsewhere" if refused else "silently_wrong"
    out_of_bounds = [s for s, f in steps.items() if not f["within"]]
    overall = "refused" if refused else "silently_wrong" if out_of_bounds else "within"
    right = None
    if refused:
        first = min(_run_index(s) for s in attempt.refused_steps)
        right = any(_run_index(s) >= first for s in out_of_bounds)
    return per_step, overall, right


def _run_index(step: str) -> int:
    """Position of ``step`` in the calibration's run order (:data:`STEPS`; after them when it is none of them)."""
    order = list(STEPS)
    return order.index(step) if step in order else len(order)


def evaluate_bench(seed: int, base: BenchConfig) -> tuple[dict, BenchConfig, CalibrationRecord | None]:
    """Draw bench ``seed`` (odd seeds with the unmodelled effects), calibrate it, and judge every step; the figures,
    the bench drawn and its record (None when the calibration raised)."""
    config = draw_bench(seed, base, mismatch=seed % 2 == 1)
    imperfections = config.simulation.imperfections
    start = time.perf_counter()
    attempt, compared = run_calibration(config)
    steps = judged_errors(compared, imperfections.crosstalk_shape) if compared is not None else None
    per_step, overall, right = classify(attempt, steps)
    record = attempt.record
    return {
        "seed": seed, "bench": config.name, "mismatch": seed % 2 == 1,
        "truth": imperfections.model_dump(mode="json", exclude={"seed"}),
        "steps": steps, "outcomes": per_step, "overall": overall, "right_cause": right,
        "refused_steps": attempt.refused_steps, "error_type": attempt.error_type, "error": attempt.error,
        "running_step": attempt.running_step,
        "forced": bool(getattr(record, "forced", False)) if record is not None else None,
        "quality_fail": [f.describe() for f in getattr(record, "quality", []) if f.verdict == "fail"] if record else [],
        "zero_order_error": compared["errors"]["zero_order"] if compared else None,
        "fringing_truth_px": compared["fringing_truth_px"] if compared else None,
        "captures": int(sum(s["captures"] for s in record.stats.values())) if record else None,
        "wall_s": time.perf_counter() - start,
    }, config, record


def summarise(benches: list[dict]) -> dict:
    """Fractions of each outcome per judged step and overall, the right-cause fraction of refusals, and error maxima."""
    n = len(benches)
    per_step = {step: {o: sum(b["outcomes"][step] == o for b in benches) / n for o in OUTCOMES} for step in JUDGED}
    overall = {o: sum(b["overall"] == o for b in benches) / n for o in OUTCOMES}
    refusals = [b["right_cause"] for b in benches if b["overall"] == "refused"]
    known = [r for r in refusals if r is not None]
    for step in JUDGED:
        errors = [b["steps"][step]["error"] for b in benches if b["steps"] and b["steps"][step]["judged"]]
        per_step[step]["max_error"] = max(errors) if errors else None
        per_step[step]["median_error"] = float(np.median(errors)) if errors else None
    return {"benches": n, "per_step": per_step, "overall": overall,
            "refusals": len(refusals), "refusals_cause_known": len(known),
            "right_cause_fraction": sum(known) / len(known) if known else None,
            "false_alarms": len(known) - sum(known)}


def goals(summary: dict, e2e: list[dict]) -> dict:
    """Each goal with its value, target and met / not met; by how much it is missed."""
    within_1 = [abs(r["optical_minus_digital_points"]) <= 1.0 for r in e2e if "optical_minus_digital_points" in r]
    values = {"silently_wrong_fraction": summary["overall"]["silently_wrong"],
              "within_bounds_fraction": summary["overall"]["within"],
              "e2e_within_1_point_fraction": sum(within_1) / len(within_1) if within_1 else None}
    result = {}
    for name, target in GOALS.items():
        value = values[name]
        at_most = name == "silently_wrong_fraction"
        met = None if value is None else (value <= target if at_most else value >= target)
        result[name] = {"value": value, "target": target, "sense": "<=" if at_most else ">=", "met": met,
                        "missed_by": None if value is None or met else abs(value - target)}
    return result


def small_student(channels: list[int], context: JobContext) -> Path:
    """A digits student with ``channels`` (the bundled train config's plan, seed and optimiser otherwise), trained
    by the train job; its ``last`` checkpoint."""
    config = load_config(bundled("train-student-digits.yaml"), kind="train")
    config = config.model_copy(update={"arch": config.arch.model_copy(update={"channels": channels})})
    trained = train(TrainOptions(role="student", config=config), context)
    assert trained.last is not None
    return trained.last


def end_to_end(records: list[tuple[dict, BenchConfig, CalibrationRecord]], channels: list[int], images: int,
               folder: Path) -> list[dict]:
    """Compile the small student with each bench's (figures, config, record) and infer ``images`` test images
    (``optical_accuracy.evaluate``); optical minus digital accuracy per bench."""
    if not records:
        return []
    torch.manual_seed(0)
    context = JobContext(runs_dir=folder / "runs", say=tqdm.write, progress=False)
    checkpoint = small_student(channels, context)
    model, _ = load_checkpoint(checkpoint)
    folded = fold(model.cpu().eval()).eval()
    results = []
    for bench, config, record in tqdm(records, desc="end to end", unit="bench"):
        path = record.save(folder / f"calibration-{bench['seed']}.json")
        try:
            result = optical_accuracy.evaluate(f"seed-{bench['seed']}", checkpoint, folded, path, config, images, 16,
                                               context, folder)
        except Exception as error:  # noqa: BLE001 - a compile the verification refuses is a figure too
            result = {"error_type": type(error).__name__, "error": str(error)}
        if "accuracy_gap_points" in result:
            result["optical_minus_digital_points"] = -result["accuracy_gap_points"]
        results.append({"seed": bench["seed"], "mismatch": bench["mismatch"],
                        **{k: result[k] for k in ("accuracy_digital", "accuracy_optical", "optical_minus_digital_points",
                                                  "correlation_min", "error_type", "error") if k in result}})
    return results


def plot(benches: list[dict], summary: dict, path: Path) -> None:
    """Per-step stacked bars of the outcomes, and each step's errors against its bound."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(14, 4.8))
    labels = [*JUDGED, "overall"]
    fractions = [*(summary["per_step"][s] for s in JUDGED), summary["overall"]]
    bottom = np.zeros(len(labels))
    colours = {"within": "tab:green", "refused": "tab:blue", "caught_elsewhere": "tab:cyan", "silently_wrong": "tab:red",
               "crashed": "tab:orange", "not_measured": "0.7"}
    for outcome in OUTCOMES:
        values = np.array([f[outcome] for f in fractions]) * 100
        ax.bar(labels, values, bottom=bottom, color=colours[outcome], label=outcome.replace("_", " "))
        bottom += values
    ax.set_ylabel(f"% of {summary['benches']} random benches")
    ax.set_title("calibration outcome per step")
    ax.legend(fontsize=7, loc="lower right")
    for i, step in enumerate(JUDGED):
        rows = [b for b in benches if b["steps"] and b["steps"][step]["judged"]]
        ratio = [b["steps"][step]["error"] / b["steps"][step]["bound"] for b in rows]
        colour = [colours[b["outcomes"][step]] for b in rows]
        jitter = np.random.default_rng(i).uniform(-0.2, 0.2, len(rows))
        ax2.scatter(i + jitter, np.maximum(ratio, 1e-4), c=colour, s=12)
    ax2.axhline(1.0, color="k", ls="--", lw=1, label="bound")
    ax2.set_yscale("log")
    ax2.set_xticks(range(len(JUDGED)), [f"{s}\n({BOUNDS[k]:.3g})" for s, k in JUDGED.items()], fontsize=8)
    ax2.set_ylabel("error / bound (colour: outcome)")
    ax2.set_title("errors against the simulated truth")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def base_bench(path: Path | None) -> BenchConfig:
    """The bench whose devices, optics and geometry the random benches keep: the YAML at ``path`` on the virtual
    clock, or (None) the bundled realistic bench on the virtual clock."""
    if path is None:
        return calibration_accuracy._realistic()
    config = load_config(path, kind="bench")
    assert isinstance(config, BenchConfig)
    return config.model_copy(update={"simulation": config.simulation.model_copy(update={"clock": "virtual"})})


def _code_version() -> str:
    """``git describe --always --dirty`` of the checkout the benchmark runs from (the code the figures are of)."""
    done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=Path(__file__).resolve().parent,
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 benches, end to end on 2 of them with 60 images")
    parser.add_argument("--benches", type=int, default=50, help="random benches (seeds 0 .. N-1; odd ones mismatched)")
    parser.add_argument("--e2e-benches", type=int, default=10, help="benches within bounds compiled and run (0: none)")
    parser.add_argument("--images", type=int, default=120, help="test images per end-to-end bench")
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 16], help="channels of the end-to-end student")
    parser.add_argument("--base", type=Path, default=None, help="bench YAML the benches are drawn from "
                        "(default: the bundled bench-sim-realistic.yaml)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the JSON and PNG")
    args = parser.parse_args(argv)
    if args.quick:
        args.benches, args.e2e_benches, args.images = min(args.benches, 10), min(args.e2e_benches, 2), min(args.images, 60)
    if args.benches < 1:
        parser.error(f"--benches {args.benches}: give at least 1")
    base = base_bench(args.base)
    benches, passing = [], []
    for seed in tqdm(range(args.benches), desc="calibrating random benches", unit="bench"):
        result, config, record = evaluate_bench(seed, base)
        benches.append(result)
        tqdm.write(f"seed {seed}{' (mismatch)' if result['mismatch'] else ''}: {result['overall']}; "
                   + ", ".join(f"{s} {result['outcomes'][s]}" for s in JUDGED)
                   + (f"; {result['error_type']}: {result['error'].splitlines()[0][:120]}" if result["error"] else ""))
        if result["overall"] == "within" and record is not None:
            passing.append((result, config, record))
    summary = summarise(benches)
    with tempfile.TemporaryDirectory() as tmp:
        e2e = end_to_end(passing[: args.e2e_benches], args.channels, args.images, Path(tmp))
    figures = {"quick": args.quick, "bounds": BOUNDS, "clock": "virtual", "base_bench": base.name,
               "forced": True, "calibrations": list(CALIBRATIONS), "code": _code_version(),
               "summary": summary, "goals": goals(summary, e2e),
               "end_to_end": {"student_channels": args.channels, "images": args.images,
                              "points_per_image": 100 / args.images, "benches": e2e},
               "benches": benches}
    args.out.mkdir(parents=True, exist_ok=True)
    path = write_result("calibration_robustness", figures, out_dir=args.out)
    plot(benches, summary, args.out / "calibration_robustness.png")
    for name, goal in figures["goals"].items():
        print(f"{name}: {goal['value']} (goal {goal['sense']} {goal['target']}): "
              f"{'met' if goal['met'] else 'not met' if goal['met'] is not None else 'not measured'}")
    print(f"wrote {path} and {args.out / 'calibration_robustness.png'}")
    return figures


if __name__ == "__main__":
    main()
