"""Acceptance of the compiler on the simulated realistic bench: camera features vs the digital student.

For a digits SCLC student (``--checkpoint``, or one trained here with the bundled
``train-student-digits.yaml``), on ``configs/bench-sim-realistic.yaml`` (virtual clock: the optics,
noise and imperfections are unchanged, only waiting is skipped):

1. calibrations: ``measured`` (``osclc.calibration.measure.calibrate``, all steps, through the drivers only) and
   ``skipped`` (``CalibrationRecord.identity``: linear LUT, nominal affines, flat wavefront);
2. for each: compile (auto multiplexing and encoding; ``compile_candidates``: with the measured
   calibration the patterns are compensated for the measured SLM crosstalk; without it, for double
   phase the largest checkerboard square that fits and single pixels, the better fit on the validation
   images kept), fit the per-channel
   feature gain/offset on ``--normalise`` validation images (and, from repeated captures, the frames each
   pattern averages), then run the test images (all, or ``--quick``: the first 120) through
   the bench and the program's readout;
3. figures: per-channel normalised correlation of camera vs digital features on the test images (goal
   >= 0.99 for every channel), and classification accuracy of the student's backend on the camera features
   against the digital student on the same images (goal: within 1 point).

Usage: ``python benchmarks/optical_accuracy.py [--quick] [--checkpoint CKPT]``; writes
``benchmarks/results/optical_accuracy.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_result  # noqa: E402

from osclc.calibration.measure.calibrate import calibrate  # noqa: E402
from osclc.calibration.compiler import best_by_fit, compile_candidates, normalised_correlation  # noqa: E402
from osclc.calibration.record import CalibrationRecord  # noqa: E402
from osclc.calibration.execute import prepare, run_batch  # noqa: E402
from osclc.configs import bundled  # noqa: E402
from osclc.drivers.bench import open_bench  # noqa: E402
from osclc.drivers.bench_config import BenchConfig  # noqa: E402
from osclc.lab.config.files import load_config  # noqa: E402
from osclc.models.training.checkpoints import load_checkpoint  # noqa: E402
from osclc.models.data.spec import load_dataset  # noqa: E402
from osclc.models.folding import fold  # noqa: E402
from osclc.models.training.trainer import train_model  # noqa: E402
from osclc.storage import save_figure  # noqa: E402


def student(checkpoint: str | None, data) -> tuple[torch.nn.Module, str]:
    """The student to compile: loaded from ``checkpoint`` or trained now with the bundled digits config."""
    if checkpoint:
        model, _ = load_checkpoint(checkpoint)
        return model, checkpoint
    config = load_config(bundled("train-student-digits.yaml"), kind="train")
    result = train_model(config, data, progress=False)
    return result.model, "trained here (bundled train-student-digits.yaml, no teacher)"


def evaluate(name: str, folded, record: CalibrationRecord, config: BenchConfig, data, test_count: int, fit_count: int) -> dict:
    """Compile with ``record``, normalise on validation images, run the test images; correlations and accuracies."""
    start = time.perf_counter()
    candidates = compile_candidates(folded, record, config)
    compile_s = (time.perf_counter() - start) / len(candidates)
    val_x = data.val.x[:fit_count]
    test_x, test_y = data.test.x[:test_count], data.test.y[:test_count]
    with torch.no_grad():
        val_digital = folded.features(val_x).numpy()
        digital = folded.features(test_x).numpy()
        digital_pred = folded(test_x).argmax(1).numpy()
    with open_bench(config, emission=True) as bench:
        program, scores = best_by_fit(bench, candidates, val_digital, val_x.numpy())
        fit = program.info["normalisation"]
        prepare(bench, program)
        captures = program.captures * len(test_x)
        print(f"[{name}] {program.multiplex} x {program.patterns.shape[0]} masks ({program.encoding}); {captures} captures")
        optical = run_batch(bench, program, test_x.numpy())
    with torch.no_grad():
        optical_pred = folded.backend(torch.from_numpy(optical).to(test_x.dtype)).argmax(1).numpy()
    correlation = np.array([normalised_correlation(optical[:, o], digital[:, o]) for o in range(digital.shape[1])])
    labels = test_y.numpy()
    result = {
        "calibration": name,
        "multiplex": program.multiplex, "encoding": program.encoding, "masks": int(program.patterns.shape[0]),
        "double_phase_block": program.info["double_phase_block"],
        "candidates_fit_correlation": {str(c.info["double_phase_block"]): v for c, v in zip(candidates, scores)},
        "exposure_s": program.exposure_s.tolist(), "frames": program.frames.tolist(),
        "noise_ratio": fit["noise_ratio"], "compile_s": compile_s, "frame_rate_hz": program.frame_rate_hz,
        "fit_correlation_min": float(np.min(fit["correlation"])),
        "correlation_min": float(correlation.min()), "correlation_mean": float(correlation.mean()),
        "correlation_median": float(np.median(correlation)),
        "channels_at_least_0.99": int((correlation >= 0.99).sum()), "channels": int(correlation.size),
        "correlation_per_channel": correlation.tolist(),
        "accuracy_digital": float((digital_pred == labels).mean()),
        "accuracy_optical": float((optical_pred == labels).mean()),
        "agreement_optical_vs_digital": float((optical_pred == digital_pred).mean()),
        "test_images": int(len(labels)),
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
    data = load_dataset("digits", image_size=8, channels=1)
    model, source = student(args.checkpoint, data)
    folded = fold(model.cpu().eval()).eval()
    config = load_config(args.bench, kind="bench")
    config = config.model_copy(update={"simulation": config.simulation.model_copy(update={"clock": "virtual"})})
    test_count = 120 if args.quick else len(data.test.y)
    start = time.perf_counter()
    with open_bench(config) as bench:
        measured = calibrate(bench, "all").record
    calibrate_s = time.perf_counter() - start
    results = [
        evaluate("measured", folded, measured, config, data, test_count, args.normalise),
        evaluate("skipped", folded, CalibrationRecord.identity(config), config, data, test_count, args.normalise),
    ]
    figures = {
        "bench": args.bench, "clock": "virtual", "student": source, "folded": folded.extra_repr(),
        "quick": args.quick, "calibrate_s": calibrate_s, "results": results,
        "goals": {"correlation_min": 0.99, "accuracy_gap_points": 1.0},
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
