"""Calibration accuracy against the simulated truth, and the captures and seconds each calibration takes.

Benches: ``configs/bench-sim-realistic.yaml`` (virtual clock, so the seconds are computation, not the
settle/exposure waits of the real clock), the same with its spectrum rotation / scale set to 0 / 1
(``-aligned``: there the simulated camera truth is valid), the same with fringing 0.65, 1.0 and 1.5 px
(``-fringing-*``; the quality gates' verdict counts are reported per bench), and random noisy truths (seeds; see
``tests/calibration/test_calibration_accuracy.py`` for their ranges). Errors, as in issue 6:
LUT phase RMS (rad, bound 0.05), Fourier and camera affine RMS over the used area (pixels, bound
0.1), wavefront residual RMS after piston and tilt over the SLM area the models use (rad, bound
lambda/20 = 0.314 rad), SLM fringing sigma (pixels, bound 0.05) and zero order (field fraction, bound
0.02). Writes ``benchmarks/results/calibration_accuracy.json`` and ``.png``.

The fringing step is also run alone (dark, LUT, fringing) on the random truths of
``tests/calibration/test_fringing.py`` (sigma 0 .. 1 px, zero order 0 .. 0.15). Below about 0.3 px the
kernel's neighbour weight exp(-1/(2 sigma^2)) is under 0.4 %, sigma is not identifiable there and its error
is reported but not held to the bound; the neighbour-weight error (the effect) is reported for every bench.

The camera registration is compared with the truth's affine shifted by the image motion that the
corrected SLM phase causes (``expected_camera_affine`` of the tests); ``camera_vs_raw_truth_px`` is
the distance to the unshifted truth. Known limit of the present simulated bench (not of the
calibration): its ``camera_affine`` truth is wrong when the spectrum is rotated or scaled on the SLM
(the realistic bench has both, slightly), see /work/notes/H5-to-H3-sim-camera-truth.md.

Usage: ``python benchmarks/calibration_accuracy.py [--quick]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_result  # noqa: E402

from osclc.calibration.measure.calibrate import calibrate  # noqa: E402
from osclc.calibration.measure.fitting import remove_plane  # noqa: E402
from osclc.calibration.record import CalibrationRecord, apply_affine  # noqa: E402
from osclc.configs import bundled  # noqa: E402
from osclc.drivers.bench import Bench, open_bench  # noqa: E402
from osclc.drivers.bench_config import BenchConfig  # noqa: E402
from osclc.storage import save_figure  # noqa: E402

BOUNDS = {"lut_rad": 0.05, "fourier_px": 0.1, "camera_px": 0.1, "wavefront_rad": 2 * np.pi / 20, "fringing_px": 0.05,
          "zero_order": 0.02}


def _test_module(name: str):
    """A test file of ``tests/calibration`` as a module: its random truths (one definition for tests and benchmark)."""
    path = Path(__file__).resolve().parent.parent / "tests" / "calibration" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_truths", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TRUTHS = _test_module("test_calibration_accuracy")
FRINGING = _test_module("test_fringing")
IDENTIFIABLE_SIGMA_PX = 0.3  # below it the fringing kernel's neighbour weight is < 0.4 %: sigma is not identifiable


def _realistic(aligned: bool = False, fringing_px: float | None = None) -> BenchConfig:
    """The bundled realistic bench on the virtual clock; ``aligned`` sets its spectrum rotation / scale to 0 / 1
    (where the simulated camera truth is valid); ``fringing_px`` replaces its fringing sigma (SLM pixels)."""
    data = yaml.safe_load(bundled("bench-sim-realistic.yaml").read_text())
    data["simulation"]["clock"] = "virtual"
    if aligned:
        data["name"] += "-aligned"
        data["simulation"]["imperfections"].update(fourier_rotation_rad=0.0, fourier_scale=1.0)
    if fringing_px is not None:
        data["name"] += f"-fringing-{fringing_px:g}"
        data["simulation"]["imperfections"]["fringing_px"] = fringing_px
    return BenchConfig.model_validate(data)


def _rms_between(a: np.ndarray, b: np.ndarray, points: np.ndarray) -> float:
    diff = apply_affine(a, points) - apply_affine(b, points)
    return float(np.sqrt(np.mean(np.sum(diff**2, axis=1))))


def evaluate(config: BenchConfig) -> dict:
    """Calibrate ``config`` (all steps) and compare with its truth."""
    start = time.perf_counter()
    with open_bench(config) as bench:
        record = calibrate(bench).record
        compared = truth_errors(config, bench, record)
    total_s = time.perf_counter() - start
    return {
        "bench": config.name,
        "slm_shape": list(record.slm_shape),
        **compared,
        "far_field_method": record.fits["far_field"]["method"],
        "quality": {verdict: sum(f.verdict == verdict for f in record.quality) for verdict in ("pass", "marginal", "fail")},
        "fit_rms_px": {name: fit["rms_px"] for name, fit in record.fits.items() if "rms_px" in fit},
        "stages": record.stats,
        "captures": int(sum(s["captures"] for s in record.stats.values())),
        "seconds": float(sum(s["seconds"] for s in record.stats.values())),
        "total_with_bench_open_s": total_s,
    }


def truth_errors(config: BenchConfig, bench: Bench, record: CalibrationRecord) -> dict:
    """Each step's error (``errors``, keys of :data:`BOUNDS`) of ``record`` against the hidden truth of the open
    simulated ``bench`` of ``config``, and the fringing truth, neighbour-weight error, camera distance to the raw
    truth and the wavefront before correction."""
    truth = bench.truth
    camera_truth = TRUTHS.expected_camera_affine(bench, record)
    lut_error = record.lut_phase_rad - (truth.phase_lut_rad - truth.phase_lut_rad[0])
    half = config.input.shape[0] // 2
    bins = np.stack(np.meshgrid(np.arange(-half, half + 1), np.arange(-half, half + 1), indexing="ij"), -1).reshape(-1, 2)
    pixels = np.stack(np.meshgrid(*(np.arange(n) for n in config.input.shape), indexing="ij"), -1).reshape(-1, 2)
    row0, row1, col0, col1 = record.fits["wavefront"]["box"]
    mask = np.zeros(record.slm_shape, bool)
    mask[row0:row1, col0:col1] = True
    residual = remove_plane(truth.wavefront_rad + record.wavefront_phase_rad, mask)[mask]
    before = remove_plane(truth.wavefront_rad, mask)[mask]
    return {
        "errors": {
            "lut_rad": float(np.sqrt(np.mean(lut_error**2))),
            "fourier_px": _rms_between(record.fourier_affine, truth.fourier_affine, bins),
            "camera_px": _rms_between(record.camera_affine, camera_truth, pixels),
            "wavefront_rad": float(residual.std()),
            "fringing_px": abs(record.fringing_px - truth.fringing_px),
            "zero_order": abs(record.zero_order - truth.zero_order),
        },
        "fringing_truth_px": truth.fringing_px,
        "fringing_neighbour_weight_error": _neighbour_weight_error(record.fringing_px, truth.fringing_px),
        "camera_vs_raw_truth_px": _rms_between(record.camera_affine, truth.camera_affine, pixels),
        "wavefront_before_rad": float(before.std()),
    }


def _neighbour_weight_error(measured_px: float, truth_px: float) -> float:
    return abs(FRINGING.neighbour_weight(measured_px) - FRINGING.neighbour_weight(truth_px))


def evaluate_fringing(seed: int) -> dict:
    """The fringing step alone (after dark and LUT) on the fringing tests' random bench ``seed``."""
    record, sigma, z = FRINGING.measured(FRINGING.random_bench(seed))
    stat = record.stats["fringing"]
    return {
        "seed": seed, "truth": {"fringing_px": sigma, "zero_order": z},
        "measured": {"fringing_px": record.fringing_px, "zero_order": record.zero_order},
        "errors": {"fringing_px": record.fringing_px - sigma, "zero_order": record.zero_order - z,
                   "neighbour_weight": _neighbour_weight_error(record.fringing_px, sigma)},
        "identifiable": sigma >= IDENTIFIABLE_SIGMA_PX,
        "residual_rms": record.fits["fringing"]["residual_rms"],
        "captures": int(stat["captures"]), "seconds": float(stat["seconds"]),
    }


def fringing_summary(results: list[dict]) -> dict:
    """Largest errors over the random fringing benches (sigma only where identifiable), captures and seconds."""
    sigma_errors = [abs(r["errors"]["fringing_px"]) for r in results if r["identifiable"]]
    return {
        "benches": len(results), "identifiable": len(sigma_errors),
        "max_abs_fringing_px_error": max(sigma_errors) if sigma_errors else None,
        "max_abs_zero_order_error": max(abs(r["errors"]["zero_order"]) for r in results),
        "max_neighbour_weight_error": max(r["errors"]["neighbour_weight"] for r in results),
        "captures": max(r["captures"] for r in results),
        "mean_seconds": float(np.mean([r["seconds"] for r in results])),
    }


def plot(results: list[dict], fringing: list[dict], path: Path) -> None:
    """Errors relative to their bounds, and seconds per stage, for each bench; fringing measured against truth."""
    fig, (ax, ax2, ax3) = plt.subplots(1, 3, figsize=(17, 4.5))
    keys = list(BOUNDS)
    width = 0.8 / len(results)
    for i, result in enumerate(results):
        ax.bar(np.arange(len(keys)) + i * width, [result["errors"][k] / BOUNDS[k] for k in keys], width, label=result["bench"])
        stages = list(result["stages"])
        ax2.bar(np.arange(len(stages)) + i * width, [result["stages"][s]["seconds"] for s in stages], width, label=result["bench"])
        ax2.set_xticks(np.arange(len(stages)) + 0.4 - width / 2, [f"{s}\n({result['stages'][s]['captures']} cap.)" for s in stages], fontsize=7)
    ax.axhline(1.0, color="k", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(keys)) + 0.4 - width / 2, keys, rotation=25, fontsize=8)
    ax.set_ylabel("error / bound")
    ax.set_title("calibration error against the simulated truth")
    ax.legend(fontsize=7)
    ax2.set_ylabel("seconds (virtual clock: computation only)")
    ax2.set_title("time per calibration step")
    truth = np.array([r["truth"]["fringing_px"] for r in fringing])
    ax3.plot(truth, [r["measured"]["fringing_px"] for r in fringing], "o", label="fringing sigma (px)")
    ax3.plot([0, 1], [0, 1], "k--", lw=1)
    ax3.axvspan(0, IDENTIFIABLE_SIGMA_PX, color="0.9", label="sigma not identifiable (no effect)")
    ax3.set_xlabel("true fringing sigma (SLM pixels)")
    ax3.set_ylabel("measured sigma (SLM pixels)")
    twin = ax3.twinx()
    twin.plot(truth, [r["errors"]["zero_order"] for r in fringing], "x", color="C3", label="zero order error")
    twin.axhline(0.0, color="C3", lw=0.5)
    twin.set_ylabel("zero order: measured - truth", color="C3")
    ax3.legend(fontsize=7, loc="upper left")
    ax3.set_title(f"fringing step alone, {len(fringing)} random benches", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one random bench instead of three")
    args = parser.parse_args()
    seeds = [11] if args.quick else [11, 29, 47]
    fringing_seeds = range(100, 108) if args.quick else range(100, 124)
    sweep = [1.5] if args.quick else [0.65, 1.0, 1.5]  # where the knife edges of the former Fourier step were 2.4 - 4.4 px off
    configs = [_realistic(), _realistic(aligned=True), *(_realistic(fringing_px=f) for f in sweep),
               *(TRUTHS.random_bench(seed) for seed in seeds)]
    results = []
    for config in configs:
        result = evaluate(config)
        results.append(result)
        errors = ", ".join(f"{k} {v:.4f}" for k, v in result["errors"].items())
        print(f"{config.name}: {errors}; {result['captures']} captures, {result['seconds']:.1f} s")
    fringing = [evaluate_fringing(seed) for seed in fringing_seeds]
    summary = fringing_summary(fringing)
    print(f"fringing step alone on {summary['benches']} random benches: max |sigma error| {summary['max_abs_fringing_px_error']:.4f} px "
          f"({summary['identifiable']} with sigma >= {IDENTIFIABLE_SIGMA_PX} px), max |zero order error| "
          f"{summary['max_abs_zero_order_error']:.4f}, max neighbour-weight error {summary['max_neighbour_weight_error']:.5f}; "
          f"{summary['captures']} captures, {summary['mean_seconds']:.2f} s")
    path = write_result("calibration_accuracy", {"bounds": BOUNDS, "quick": args.quick, "benches": results,
                                                 "fringing": {"summary": summary, "benches": fringing}})
    plot(results, fringing, RESULTS / "calibration_accuracy.png")
    print(f"wrote {path} and {RESULTS / 'calibration_accuracy.png'}")


if __name__ == "__main__":
    main()
