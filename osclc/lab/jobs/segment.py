"""The segment job: the SCLC U-Net's frontend on a bench, one compiled program per level.

Used by ``osclc segment`` (:func:`segment`: load, run, record); :func:`run_optical_segmentation` is its
engine, for callers that hold the student and the images already.

Every level of the folded student (:func:`~osclc.models.networks.sclc_unet.fold_levels`) is its own
operator ``K_eff_l`` and its own readout (a skip connection), so it is compiled into its own
optical program (:func:`osclc.calibration.compiler.pipeline.compile_program`) and normalised against the
digital detector outputs on a few validation images
(:func:`osclc.calibration.execute.fit_normalisation`). Each level's program then runs over
the test images through the pipelined loop (:func:`osclc.lab.loop.runner.run_loop`, stream
``frames_level<l>``, features kept), and the electronic backend (crop, readout gain/offset,
U-Net decoder) turns the measured feature maps of all levels into per-pixel logits.

Reported beside the digital folded student on the same images: pixel accuracy, mean IoU, Dice
(against the masks), the pixel agreement of optical and digital predictions, each level's loop
latency per stage (p50 / p95 / p99), the backend's time per image, and the budget model's
prediction for the levels' masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from osclc.calibration.compiler import fit_normalisation
from osclc.calibration.compiler.pipeline import compile_program
from osclc.calibration.program import OpticalProgram
from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.jobs.context import DEFAULT_CONTEXT, JobContext
from osclc.lab.latency.budget import predict_budget
from osclc.lab.latency.report import analyze_frames
from osclc.lab.latency.stats import percentile
from osclc.lab.loop.config import LoopConfig
from osclc.lab.loop.device_timing import timed_call
from osclc.lab.loop.runner import run_loop
from osclc.lab.runs import Run, iter_records
from osclc.models.data.spec import load_dataset
from osclc.models.folding import FoldedFrontend
from osclc.models.layers.module_types import module_as
from osclc.models.networks.sclc_unet import FoldedSCLCUNet, SCLCUNet, fold_levels
from osclc.models.training.checkpoints import checkpoint_folder, load_checkpoint
from osclc.models.training.segmentation_metrics import ConfusionMatrix
from osclc.storage import save_json

NORMALISATION_IMAGES = 8
"""Validation images each level's readout gain/offset is fitted on."""
DEFAULT_ENCODING = "double_phase"
"""Complex-mask encoding of the level programs: a level read out at full resolution has a P-wide readout
window, and the grating encoding's extra diffraction orders leave no room for it on the bundled benches
(the compiler finds no layout), while double-phase does."""


@dataclass
class OpticalSegmentation:
    """Figures of one optical run: optical and digital scores, agreement, latency per level, budget."""

    optical: dict[str, float]
    digital: dict[str, float]
    agreement: float
    frames: int
    lost: int
    levels: list[dict[str, Any]] = field(default_factory=list)
    backend_ms_p50: float = 0.0
    budget: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (fractions, milliseconds)."""
        return {"optical": self.optical, "digital": self.digital, "agreement": self.agreement, "frames": self.frames,
                "lost_frames": self.lost, "levels": self.levels, "backend_ms_p50": self.backend_ms_p50, "budget": self.budget}


def compile_levels(folded: FoldedSCLCUNet, calibration: CalibrationRecord, bench_config: BenchConfig,
                   multiplex: str = "auto", encoding: str = DEFAULT_ENCODING,
                   exposures_s: Sequence[float] | None = None, block: int | None = None) -> list[OpticalProgram]:
    """One optical program per level of ``folded`` (the student must read out by intensity).

    ``exposures_s``: camera exposure (s) of each level's program (None: the bench config's); ``block``:
    the double-phase checkerboard square (SLM pixels; None: the compiler's default).
    """
    options = {} if block is None else {"block": block}
    if exposures_s is not None and len(exposures_s) != len(folded.levels):
        raise ValueError(f"exposures: {len(exposures_s)} values for {len(folded.levels)} levels; give one per level")
    exposures = list(exposures_s) if exposures_s is not None else [None] * len(folded.levels)
    return [compile_program(module_as(level, FoldedFrontend), calibration, bench_config, multiplex=multiplex, encoding=encoding, exposure_s=exposure, **options)
            for level, exposure in zip(folded.levels, exposures, strict=True)]


@torch.no_grad()
def _backend_logits(folded: FoldedSCLCUNet, features: Sequence[np.ndarray], device: torch.device,
                    batch: int) -> tuple[torch.Tensor, list[float]]:
    """Logits of the backend on measured level features (batches of ``batch``) and its ms per image."""
    backend = folded.backend.to(device).eval()
    maps = [torch.from_numpy(f[:1]).to(device) for f in features]
    timed_call(lambda: backend(maps), device)  # warm-up (allocations, CUDA kernels)
    logits, per_image_ms = [], []
    for start in range(0, len(features[0]), batch):
        maps = [torch.from_numpy(f[start:start + batch]).to(device) for f in features]
        out, elapsed_ms = timed_call(partial(backend, maps), device)
        logits.append(out.cpu())
        per_image_ms.append(elapsed_ms / len(maps[0]))
    return torch.cat(logits), per_image_ms


def run_optical_segmentation(
    student: SCLCUNet,
    calibration: CalibrationRecord,
    bench_config: BenchConfig,
    images: np.ndarray,
    masks: np.ndarray,
    normalisation_images: np.ndarray,
    num_classes: int,
    loop: LoopConfig,
    device: torch.device,
    run: Run | None = None,
    multiplex: str = "auto",
    encoding: str = DEFAULT_ENCODING,
    expose: bool = True,
    exposures_s: Sequence[float] | None = None,
    block: int | None = None,
) -> OpticalSegmentation:
    """Compile, normalise and run every level of ``student`` on the bench over ``images`` ``[N, C, S, S]``.

    ``masks`` ``[N, S, S]`` are the ground truth (255 = ignore); ``normalisation_images`` (validation
    images, never the test ones) fit each level's readout gain/offset. Records go to ``run``.
    ``expose``: let the normaliser set the camera exposure of each mask of each level
    (:func:`~osclc.calibration.execute.auto_expose`), else keep the compiled one (``exposures_s``:
    one per level, used for every mask of that level; or the config's). ``block``: double-phase checkerboard square (SLM pixels), see :func:`compile_levels`.
    """
    if student.detector.mode != "intensity":
        raise ValueError(f"student detector is {student.detector.mode!r}; a camera reads intensity: train with detector 'intensity'")
    folded = fold_levels(student.cpu().eval()).eval()
    programs = compile_levels(folded, calibration, bench_config, multiplex, encoding, exposures_s, block)
    with torch.no_grad():
        calib = torch.from_numpy(normalisation_images)
        digital_features = [f.numpy() for f in folded.features(calib)]
        digital_logits = folded(torch.from_numpy(images))
    measured: list[np.ndarray] = []
    levels: list[dict[str, Any]] = []
    lost = np.zeros(len(images), dtype=bool)
    with open_bench(bench_config) as bench:
        for level, program in enumerate(programs):
            fit = fit_normalisation(bench, program, digital_features[level], normalisation_images, expose=expose)
            stream = f"frames_level{level}"
            outcome = run_loop(bench, program, images, None, loop, run=run, stream=stream, keep_features=True,
                               progress=f"level {level} ({program.out_channels} channels, {len(program.patterns)} masks)")
            features = outcome.features
            assert features is not None
            lost |= np.isnan(features).reshape(len(images), -1).any(axis=1)
            measured.append(np.nan_to_num(features))
            latency = analyze_frames(list(iter_records(run.folder, stream)), stream) if run is not None else {}
            levels.append({"level": level, "multiplex": program.multiplex, "masks": int(len(program.patterns)),
                           "out_channels": program.out_channels, "out_size": list(program.out_size),
                           "normalisation_correlation": fit["correlation"], "latency": latency})
    optical_logits, backend_ms = _backend_logits(folded, measured, device, loop.backend_batch)
    keep = torch.from_numpy(~lost)
    target = torch.from_numpy(masks)[keep]
    optical, digital = ConfusionMatrix(num_classes), ConfusionMatrix(num_classes)
    optical.update(optical_logits[keep], target)
    digital.update(digital_logits[keep], target)
    agreement = float((optical_logits.argmax(1) == digital_logits.argmax(1))[keep].float().mean()) if keep.any() else float("nan")
    backend_p50 = percentile(backend_ms, 50)
    budget = predict_budget(bench_config, masks=sum(len(p.patterns) for p in programs), backend_s=backend_p50 / 1e3,
                            exposure_s=[e for p in programs for e in p.exposure_s.tolist()],
                            frames=[n for p in programs for n in p.frames.tolist()])
    return OpticalSegmentation(
        optical=optical.summary(), digital=digital.summary(), agreement=agreement, frames=len(images),
        lost=int(lost.sum()), levels=levels, backend_ms_p50=backend_p50, budget=budget.as_dict(),
    )


@dataclass(frozen=True)
class SegmentOptions:
    """What to run optically, on which bench.

    - ``bench``: the bench config; ``calibration``: its calibration record (``osclc calibrate all``);
    - ``student``: an SCLC U-Net checkpoint (detector ``intensity``);
    - ``dataset``: dataset spec (None: the one the student was trained on); ``limit``: test images to run (>= 1);
    - ``loop``: the loop settings; ``multiplex``, ``encoding``: of every level's program;
    - ``exposures_s``: camera exposure (s) of each level's program, one per level (implies no auto-exposure);
    - ``block``: double-phase checkerboard square (SLM pixels; None: the compiler's);
    - ``fixed_exposure``: no auto-exposure: keep ``exposures_s``, or the bench config's exposure, for every level.
    """

    bench: BenchConfig
    calibration: Path
    student: Path
    dataset: str | None = None
    limit: int = 32
    loop: LoopConfig = field(default_factory=LoopConfig)
    multiplex: str = "auto"
    encoding: str = DEFAULT_ENCODING
    exposures_s: tuple[float, ...] | None = None
    block: int | None = None
    fixed_exposure: bool = False

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"--limit {self.limit}: give at least 1 image")


@dataclass(frozen=True)
class SegmentResult:
    """The ``segment`` run folder and the figures written into its ``optical_segmentation.json``."""

    folder: Path
    segmentation: OpticalSegmentation


def segment(options: SegmentOptions, context: JobContext = DEFAULT_CONTEXT) -> SegmentResult:
    """Load the student and the data, run :func:`run_optical_segmentation` in a ``segment`` run, write its figures."""
    calibration = CalibrationRecord.load(options.calibration, bench_config=options.bench)
    folder = checkpoint_folder(options.student)
    student, meta = load_checkpoint(folder)
    if not isinstance(student, SCLCUNet):
        raise ValueError(f"{folder}: is a {meta.arch.variant!r} model; osclc segment runs an SCLC U-Net (variant sclc_unet)")
    saved = meta.train_config or {}
    spec = options.dataset or meta.dataset
    data = load_dataset(spec, meta.image_size, meta.in_channels, int(saved.get("split_seed", 0)), float(saved.get("val_fraction", 0.1)))
    if len(data.val) == 0:
        raise ValueError(f"{spec}: no validation images to fit the readouts on; train with val_fraction > 0")
    images, masks = data.test.x[: options.limit].numpy(), data.test.y[: options.limit].numpy()
    calib_images = data.val.x[:NORMALISATION_IMAGES].numpy()
    exposures = list(options.exposures_s) if options.exposures_s is not None else None
    config = {"bench": options.bench.model_dump(mode="json"), "loop": options.loop.model_dump(mode="json"), "dataset": spec,
              "limit": options.limit, "multiplex": options.multiplex, "encoding": options.encoding,
              "fixed_exposure": options.fixed_exposure, "exposure_s": exposures, "block": options.block}
    inputs = {"student": folder, "calibration": options.calibration}
    with Run.create("segment", config=config, inputs=inputs, device=str(context.device), root=context.runs_dir,
                    argv=context.argv_list) as run:
        result = run_optical_segmentation(student, calibration, options.bench, images, masks, calib_images, data.num_classes,
                                          options.loop, context.device, run=run, multiplex=options.multiplex,
                                          encoding=options.encoding, expose=not (options.fixed_exposure or exposures),
                                          exposures_s=exposures, block=options.block)
        save_json(run.path("optical_segmentation.json"), result.as_dict())
        run.set_metrics(optical=result.optical, digital=result.digital, agreement=result.agreement,
                        lost_frames=result.lost, backend_ms_p50=result.backend_ms_p50)
    return SegmentResult(run.folder, result)
