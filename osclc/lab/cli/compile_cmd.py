"""``osclc compile CHECKPOINT --calib calib.json --bench CONFIG --out program/``.

Folds the student checkpoint, compiles it for the calibrated bench (``osclc.calibration.compiler.pipeline``),
opens the bench to fit the per-channel feature normalisation on a few validation images (for the
double-phase encoding on an SLM whose fringing was not measured, two candidates: the largest
checkerboard square that fits and single pixels, the better fit kept; with a measured fringing the
patterns are compensated for it: ``compile_candidates``), checks the
camera features against the digital ones on other validation images, and writes the program folder
(with the student's backend beside it, for ``osclc infer``). The run folder holds the masks
(``masks.png``), captured vs predicted feature maps side by side (``features.png``), the per-channel
correlations and the predicted frame rates.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from osclc.calibration.compiler import ENCODING_CHOICES, MULTIPLEX, best_by_fit, compile_candidates, normalised_correlation
from osclc.calibration.program import OpticalProgram
from osclc.calibration.record import CalibrationRecord
from osclc.calibration.execute import prepare, run_image
from osclc.drivers.bench import open_bench
from osclc.lab.backend_files import save_backend
from osclc.lab.config.files import load_config
from osclc.lab.runs import Run
from osclc.models.training.checkpoints import load_checkpoint
from osclc.models.data.spec import load_dataset
from osclc.models.folding import fold
from osclc.storage import save_figure


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compile`` command."""
    parser = sub.add_parser("compile", help="compile a trained SCLC student into SLM patterns and a camera readout for a calibrated bench")
    parser.add_argument("checkpoint", help="student checkpoint folder (osclc train)")
    parser.add_argument("--calib", required=True, help="calibration record of this bench (.json, osclc calibrate)")
    parser.add_argument("--bench", required=True, help="bench config (YAML, kind: bench)")
    parser.add_argument("--out", required=True, help="program folder to write")
    parser.add_argument("--multiplex", choices=MULTIPLEX, default="auto", help="output channels in time (one mask each) or space (one mask); auto: the faster that fits")
    parser.add_argument("--encoding", choices=ENCODING_CHOICES, default="auto", help="complex -> phase encoding (auto: phase for a phase-only student, else double_phase)")
    parser.add_argument("--dataset", default=None, help="dataset spec for the normalisation images (default: the checkpoint's)")
    parser.add_argument("--normalise-images", type=int, default=16, help="validation images used to fit the feature gain/offset (>= 2)")
    parser.add_argument("--check-images", type=int, default=8, help="further validation images on which captured and digital features are compared")
    parser.set_defaults(func=_compile)


def _compile(args: argparse.Namespace) -> int:
    if args.normalise_images < 2 or args.check_images < 1:
        raise ValueError("--normalise-images must be >= 2 and --check-images >= 1")
    config = load_config(args.bench, kind="bench")
    calibration = CalibrationRecord.load(args.calib, bench_config=config)
    model, meta = load_checkpoint(args.checkpoint)
    folded = fold(model.cpu().eval()).eval()
    spec = args.dataset or meta.dataset
    if not spec:
        raise ValueError(f"{args.checkpoint}: the checkpoint names no dataset; give --dataset SPEC")
    data = load_dataset(spec, image_size=meta.image_size, channels=meta.in_channels)
    count = args.normalise_images + args.check_images
    images = data.val.x[:count] if len(data.val.x) >= count else data.train.x[:count]
    if len(images) < count:
        raise ValueError(f"dataset {spec!r} has fewer than {count} images for normalisation and checking")
    with torch.no_grad():
        digital = folded.features(images.to(folded.kernel.real.dtype)).numpy()
    images_np = images.numpy()
    inputs = {"model": args.checkpoint, "calibration": args.calib, "bench_config": args.bench}
    with Run.create("compile", config=config, device="bench", root=args.runs_dir, inputs=inputs) as run:
        start = time.perf_counter()
        candidates = compile_candidates(folded, calibration, config, multiplex=args.multiplex, encoding=args.encoding)
        compile_s = (time.perf_counter() - start) / len(candidates)
        fit_n = args.normalise_images
        with open_bench(config, emission=True) as bench:
            program, scores = best_by_fit(bench, candidates, digital[:fit_n], images_np[:fit_n])
            fit = program.info["normalisation"]
            prepare(bench, program)
            captured = np.stack([run_image(bench, program, image) for image in images_np[fit_n:]])
        predicted = digital[fit_n:]
        correlation = [normalised_correlation(captured[:, o], predicted[:, o]) for o in range(program.out_channels)]
        program.info["check"] = {"images": int(len(captured)), "correlation": correlation}
        backend_info = {"source": "student", "checkpoint": str(args.checkpoint)}
        folder = program.save(args.out, also=lambda work: save_backend(work, folded.backend, backend_info))
        run.append("channels", [{"channel": o, "fit_correlation": fit["correlation"][o], "check_correlation": c}
                                for o, c in enumerate(correlation)])
        run.set_metrics(
            multiplex=program.multiplex, encoding=program.encoding, patterns=int(program.patterns.shape[0]),
            input_scale=program.input_scale, exposure_s=program.exposure_s.tolist(), frames=program.frames.tolist(),
            compile_s=compile_s,
            frame_rate_time_hz=program.frame_rate_hz.get("time"), frame_rate_space_hz=program.frame_rate_hz.get("space"),
            correlation_min=float(np.min(correlation)), correlation_mean=float(np.mean(correlation)),
            model_hash=program.model_hash, calibration_hash=program.calibration_hash,
            double_phase_block=program.info["double_phase_block"],
            candidates={str(c.info["double_phase_block"]): score for c, score in zip(candidates, scores)},
        )
        plot_masks(program, run.path("masks.png"))
        plot_features(captured, predicted, run.path("features.png"))
    rates = ", ".join(f"{mode} {rate:.3g} Hz" if rate is not None else f"{mode} does not fit" for mode, rate in program.frame_rate_hz.items())
    print(f"program: {folder} ({program.multiplex} multiplexing, {program.patterns.shape[0]} mask(s), {program.encoding} encoding; "
          f"predicted frame rate {rates}; compiled in {compile_s:.2f} s)")
    if program.captures > len(program.patterns):
        print(f"camera noise: {program.captures} captures per image (frames averaged per mask: {program.frames.tolist()})")
    print(f"camera vs digital features on {len(captured)} check images: correlation min {min(correlation):.4f}, mean {np.mean(correlation):.4f}")
    print(f"run: {run.folder}")
    return 0


def plot_masks(program: OpticalProgram, path: Path, count: int = 4) -> Path:
    """The first ``count`` SLM patterns (gray levels) side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = min(count, program.patterns.shape[0])
    fig, axes = plt.subplots(1, shown, figsize=(3.2 * shown, 3.2), squeeze=False)
    for p in range(shown):
        ax = axes[0, p]
        ax.imshow(program.patterns[p], cmap="twilight", interpolation="nearest")
        ax.set_title(f"pattern {p}: channels {program.pattern_channels[p][:4]}{'...' if len(program.pattern_channels[p]) > 4 else ''}", fontsize=8)
        ax.axis("off")
    fig.suptitle(f"SLM gray levels ({program.multiplex}, {program.encoding})")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def plot_features(captured: np.ndarray, predicted: np.ndarray, path: Path, channels: int = 4, images: int = 2) -> Path:
    """Captured (camera, normalised) vs predicted (digital) feature maps of a few images and channels, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = min(images, captured.shape[0])
    picked = np.linspace(0, captured.shape[1] - 1, min(channels, captured.shape[1])).astype(int)
    fig, axes = plt.subplots(images * 2, len(picked), figsize=(2.2 * len(picked), 2.2 * images * 2), squeeze=False)
    for i in range(images):
        for j, channel in enumerate(picked):
            top = max(float(predicted[i, channel].max()), float(captured[i, channel].max()), 1e-12)
            for row, (name, data) in enumerate((("digital", predicted), ("camera", captured))):
                ax = axes[2 * i + row, j]
                ax.imshow(data[i, channel], vmin=0, vmax=top, cmap="viridis", interpolation="nearest")
                ax.set_title(f"img {i} ch {channel} {name}", fontsize=7)
                ax.axis("off")
    fig.suptitle("predicted (digital student) vs captured (camera through the program's readout)")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path
