"""Acceptance of the compiler on the simulated realistic bench: camera features vs the digital student.

For a digits SCLC student (``--checkpoint``, or one trained here by the train job with the bundled
``train-student-digits.yaml``), on ``configs/bench-sim-realistic.yaml`` (virtual clock: the optics,
noise and imperfections are unchanged, only waiting is skipped), every step a job of ``osclc.lab.jobs``:

1. calibrations: ``measured`` (the calibrate job, all steps, through the drivers only) and
   ``skipped`` (``CalibrationRecord.identity``: linear LUT, nominal affines, flat wavefront);
2. for each: the compile job, as ``osclc compile`` runs it (auto multiplexing and encoding; with the
   measured calibration the patterns are compensated for the measured SLM crosstalk; without it, for
   double phase the largest checkerboard square that fits and single pixels, the better fit on the
   validation images kept; per-channel feature gain/offset fitted on ``--normalise`` validation images,
   with the frames each pattern averages from repeated captures; checked on 8 further ones), then the
   infer job over the test images (all, or ``--quick``: the first 120), its captured features kept;
3. figures: per-channel normalised correlation of camera vs digital features on the test images (goal
   >= 0.99 for every channel), and classification accuracy of the student's backend on the camera features
   against the digital student on the same images (goal: within 1 point).

Usage: ``python benchmarks/optical_accuracy.py [--quick] [--checkpoint CKPT]``; writes
``benchmarks/results/optical_accuracy.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_result  # noqa: E402

from osclc.storage import save_figure  # noqa: E402

from osclc.calibration.compiler import normalised_correlation  # noqa: E402
from osclc.calibration.record import CalibrationRecord  # noqa: E402
from osclc.configs import bundled  # noqa: E402
from osclc.drivers.bench_config import BenchConfig  # noqa: E402
from osclc.lab.config.files import load_config  # noqa: E402
from osclc.lab.jobs.calibrate import CalibrateOptions, calibrate_bench  # noqa: E402
from osclc.lab.jobs.compile import CompileOptions, compile_student  # noqa: E402
from osclc.lab.jobs.context import JobContext  # noqa: E402
from osclc.lab.jobs.infer import InferOptions, infer  # noqa: E402
from osclc.lab.jobs.train import TrainOptions, train  # noqa: E402
from osclc.models.data.spec import load_dataset  # noqa: E402
from osclc.models.folding import fold  # noqa: E402
from osclc.models.training.checkpoints import load_checkpoint  # noqa: E402


def student(checkpoint: str | None, context: JobContext) -> tuple[Path, str]:
    """The student checkpoint to compile: ``checkpoint``, or the ``last`` one of the train job run now on the bundled config."""
    if checkpoint:
        return Path(checkpoint), checkpoint
    trained = train(TrainOptions(role="student"), context)
    assert trained.last is not None
    return trained.last, "trained here (bundled train-student-digits.yaml, no teacher)"


def evaluate(name: str, checkpoint: Path, folded: torch.nn.Module, calibration: Path, config: BenchConfig, test_count: int,
             fit_count: int, context: JobContext, folder: Path) -> dict:
    """Compile with ``calibration`` (the compile job), run the test images (the infer job); correlations and accuracies."""
    compiled = compile_student(CompileOptions(checkpoint=checkpoint, calibration=calibration, bench=config,
                                              out=folder / f"program-{name}", normalise_images=fit_count), context)
    program = compiled.program
    fit = program.info["normalisation"]
    print(f"[{name}] {program.multiplex} x {program.patterns.shape[0]} masks ({program.encoding}); "
          f"{program.captures * test_count} captures")
    inferred = infer(InferOptions(bench=config, program=compiled.program_dir, dataset="digits", limit=test_count,
                                  baseline_repeat=3), context)
    optical = inferred.outcome.features
    assert optical is not None
    test_x = load_dataset("digits", image_size=8, channels=1).test.x[:test_count]
    with torch.no_grad():
        digital = folded.features(test_x).numpy()
        digital_pred = folded(test_x).argmax(1).numpy()
    correlation = np.array([normalised_correlation(optical[:, o], digital[:, o]) for o in range(digital.shape[1])])
    labels, optical_pred = inferred.outcome.labels, inferred.outcome.predictions
    result = {
        "calibration": name,
        "multiplex": program.multiplex, "encoding": program.encoding, "masks": int(program.patterns.shape[0]),
        "double_phase_block": program.info["double_phase_block"],
        "candidates_fit_correlation": compiled.candidates,
        "exposure_s": program.exposure_s.tolist(), "frames": program.frames.tolist(),
        "noise_ratio": fit["noise_ratio"], "compile_s": compiled.compile_s, "frame_rate_hz": program.frame_rate_hz,
        "fit_correlation_min": float(np.min(fit["correlation"])),
        "check_correlation_min": float(np.min(compiled.check_correlation)),
        "correlation_min": float(correlation.min()), "correlation_mean": float(correlation.mean()),
        "correlation_median": float(np.median(correlation)),
        "channels_at_least_0.99": int((correlation >= 0.99).sum()), "channels": int(correlation.size),
        "correlation_per_channel": correlation.tolist(),
        "accuracy_digital": float((digital_pred == labels).mean()),
        "accuracy_optical": float((optical_pred == labels).mean()),
        "agreement_optical_vs_digital": float((optical_pred == digital_pred).mean()),
        "lost_frames": int(inferred.outcome.lost),
        "test_images": int(len(labels)),
        "runs": {"compile": str(compiled.folder), "infer": str(inferred.folder)},
    }
    result["accuracy_gap_points"] = 100 * (result["accuracy_digital"] - result["accuracy_optical"])
    result["meets_correlation_goal"] = bool(correlation.min() >= 0.99)
    result["meets_accuracy_goal"] = bool(abs(result["accuracy_gap_points"]) <= 1.0)
    print(f"[{name}] correlation min {correlation.min():.4f} mean {correlation.mean():.4f}; accuracy digital "
          f"{result['accuracy_digital']:.4f} optical {result['accuracy_optical']:.4f}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 120 test images only")
    parser.add_argument("--checkpoint", default=None, help="student checkpoint folder (default: train one now)")
    parser.add_argument("--bench", default=str(bundled("bench-sim-realistic.yaml")), help="bench config")
    parser.add_argument("--normalise", type=int, default=16, help="validation images for the feature gain/offset fit")
    args = parser.parse_args()
    torch.manual_seed(0)
    config = load_config(args.bench, kind="bench")
    assert isinstance(config, BenchConfig)
    config = config.model_copy(update={"simulation": config.simulation.model_copy(update={"clock": "virtual"})})
    test_count = 120 if args.quick else len(load_dataset("digits").test.y)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        context = JobContext(runs_dir=folder / "runs", say=print, progress=False)
        checkpoint, source = student(args.checkpoint, context)
        model, _ = load_checkpoint(checkpoint)
        folded = fold(model.cpu().eval()).eval()
        measured = calibrate_bench(CalibrateOptions(bench=config, out=folder / "measured.json"), context)
        skipped = CalibrationRecord.identity(config).save(folder / "skipped.json")
        results = [evaluate(name, checkpoint, folded, calibration, config, test_count, args.normalise, context, folder)
                   for name, calibration in (("measured", measured.out), ("skipped", skipped))]
    figures = {
        "bench": args.bench, "clock": "virtual", "student": source, "folded": folded.extra_repr(),
        "quick": args.quick, "calibrate_s": float(sum(s["seconds"] for s in measured.record.stats.values())),
        "results": results, "goals": {"correlation_min": 0.99, "accuracy_gap_points": 1.0},
    }
    path = write_result("optical_accuracy", figures)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for result in results:
        axes[0].plot(sorted(result["correlation_per_channel"]), marker=".", label=f"{result['calibration']} calibration")
    axes[0].axhline(0.99, color="red", linestyle="--", label="goal 0.99")
    axes[0].set_xlabel("output channel (sorted)")
    axes[0].set_ylabel("normalised correlation camera vs digital")
    axes[0].legend()
    names = [r["calibration"] for r in results]
    width = 0.35
    x = np.arange(len(results))
    axes[1].bar(x - width / 2, [100 * r["accuracy_digital"] for r in results], width, label="digital student")
    axes[1].bar(x + width / 2, [100 * r["accuracy_optical"] for r in results], width, label="optical (camera)")
    axes[1].set_xticks(x, names)
    axes[1].set_ylabel(f"test accuracy (%), {test_count} images")
    axes[1].legend()
    fig.tight_layout()
    save_figure(fig, RESULTS / "optical_accuracy.png", dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
