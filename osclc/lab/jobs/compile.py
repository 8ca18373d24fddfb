"""The compile job: a trained student into an optical program for a calibrated bench, checked on the bench.

Used by ``osclc compile`` and ``osclc demo``. Steps:

1. refuse an ``out`` that is a file or a non-empty folder (before anything is loaded or opened);
2. fold the student checkpoint and compile it for the bench (:func:`~osclc.calibration.compiler.pipeline.compile_candidates`:
   for the double-phase encoding on an SLM whose fringing was not measured, two candidates, the largest
   checkerboard square that fits and single pixels; with a measured fringing the patterns are compensated for it);
3. open the bench (laser on), fit each candidate's per-channel feature normalisation on ``normalise_images``
   validation images and keep the best fit (:func:`~osclc.calibration.execute.best_by_fit`);
4. check the camera features against the digital ones on ``check_images`` further validation images
   (:func:`~osclc.calibration.compiler.verify.verify_program`): a channel below the bench's
   ``program_check_min_correlation`` raises :class:`~osclc.calibration.quality.QualityError` naming the worst
   channels and the likely faulty calibration step, after the run has recorded the figures and plots and before
   any program is written; with ``force`` the program is written and marked ``forced: true``;
5. write the program folder with the student's backend beside it (for ``osclc infer``).

The run (command ``compile``) holds one ``channels`` row per output channel (fit and check correlation),
the metrics (multiplexing, encoding, exposures, predicted frame rates, correlations, hashes), the masks
(``masks.png``) and captured vs predicted feature maps (``features.png``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from osclc.calibration.compiler import ENCODING_CHOICES, MULTIPLEX, best_by_fit, compile_candidates
from osclc.calibration.compiler.verify import verify_program
from osclc.calibration.execute import prepare, run_image
from osclc.calibration.program import OpticalProgram, ProgramError
from osclc.calibration.quality import Figure, QualityError
from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.backend_files import save_backend
from osclc.lab.jobs.context import JobContext
from osclc.lab.plots.compile import plot_features, plot_masks
from osclc.lab.runs import Run
from osclc.models.data.spec import load_dataset
from osclc.models.folding import fold
from osclc.models.training.checkpoints import load_checkpoint


@dataclass(frozen=True)
class CompileOptions:
    """What to compile, for which bench, and where the program goes.

    - ``checkpoint``: the student checkpoint folder (``osclc train student``);
    - ``calibration``: the calibration record of this bench (``.json``, ``osclc calibrate``);
    - ``bench``: the bench config the program is compiled for and checked on;
    - ``out``: the program folder to write: a new or an empty folder;
    - ``multiplex``: output channels in ``time`` (one mask each) or ``space`` (one mask); ``auto``: the faster that fits;
    - ``encoding``: complex -> phase encoding; ``auto``: ``phase`` for a phase-only student, else ``double_phase``;
    - ``dataset``: dataset spec of the normalisation and check images (None: the checkpoint's);
    - ``normalise_images``: validation images the feature gain/offset is fitted on (>= 2);
    - ``check_images``: further validation images on which camera and digital features are compared (>= 1);
    - ``bench_file``: the YAML ``bench`` was read from, recorded with its SHA-256 in the run's inputs;
    - ``force``: keep a program that fails the check (marked ``forced: true`` in its info and the run's metrics).
    """

    checkpoint: Path
    calibration: Path
    bench: BenchConfig
    out: Path
    multiplex: str = "auto"
    encoding: str = "auto"
    dataset: str | None = None
    normalise_images: int = 16
    check_images: int = 8
    bench_file: Path | None = None
    force: bool = False

    def __post_init__(self) -> None:
        if self.normalise_images < 2 or self.check_images < 1:
            raise ValueError("--normalise-images must be >= 2 and --check-images >= 1")
        if self.multiplex not in MULTIPLEX:
            raise ValueError(f"multiplex {self.multiplex!r}: choose one of {', '.join(MULTIPLEX)}")
        if self.encoding not in ENCODING_CHOICES:
            raise ValueError(f"encoding {self.encoding!r}: choose one of {', '.join(ENCODING_CHOICES)}")


@dataclass(frozen=True)
class CompileResult:
    """The program (normalised, checked) and its folder, the run folder, the seconds one compile took, the
    check's per-channel correlation (camera vs digital) and every candidate's mean fit correlation (by square size)."""

    program: OpticalProgram
    program_dir: Path
    folder: Path
    compile_s: float
    check_correlation: list[float]
    candidates: dict[str, float]


def check_program_folder(out: str | Path) -> Path:
    """``out`` as a program folder to write: refuses a file and a non-empty folder (ProgramError, a ValueError)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ProgramError(f"{out}: exists and is not a folder; give a folder path for the program")
    if out.is_dir() and any(out.iterdir()):
        raise ProgramError(f"{out}: is a folder that is not empty; give a new or empty folder for the program "
                           "(or remove this one to compile into it again)")
    return out


def compile_student(options: CompileOptions, context: JobContext = JobContext()) -> CompileResult:
    """Run the steps of the module docstring; returns the written program and its figures."""
    out = check_program_folder(options.out)
    calibration = CalibrationRecord.load(options.calibration, bench_config=options.bench)
    model, meta = load_checkpoint(options.checkpoint)
    folded = fold(model.cpu().eval()).eval()
    spec = options.dataset or meta.dataset
    if not spec:
        raise ValueError(f"{options.checkpoint}: the checkpoint names no dataset; give --dataset SPEC")
    data = load_dataset(spec, image_size=meta.image_size, channels=meta.in_channels)
    count = options.normalise_images + options.check_images
    images = data.val.x[:count] if len(data.val.x) >= count else data.train.x[:count]
    if len(images) < count:
        raise ValueError(f"dataset {spec!r} has fewer than {count} images for normalisation and checking")
    with torch.no_grad():
        digital = folded.features(images.to(folded.kernel.real.dtype)).numpy()
    images_np = images.numpy()
    inputs = {"model": options.checkpoint, "calibration": options.calibration,
              **({"bench_config": options.bench_file} if options.bench_file else {})}
    with Run.create("compile", config=options.bench, device="bench", root=context.runs_dir, inputs=inputs,
                    argv=context.argv_list) as run:
        start = time.perf_counter()
        candidates = compile_candidates(folded, calibration, options.bench, multiplex=options.multiplex, encoding=options.encoding)
        compile_s = (time.perf_counter() - start) / len(candidates)
        fit_n = options.normalise_images
        with open_bench(options.bench, emission=True) as bench:
            program, scores = best_by_fit(bench, candidates, digital[:fit_n], images_np[:fit_n])
            fit = program.info["normalisation"]
            prepare(bench, program)
            captured = np.stack([run_image(bench, program, image) for image in images_np[fit_n:]])
        predicted = digital[fit_n:]
        threshold = options.bench.program_check_min_correlation
        try:
            figures = verify_program(captured, predicted, threshold, force=options.force)
        except QualityError as error:
            _record_check(run, error.failed, forced=False)
            plot_features(captured, predicted, run.path("features.png"))
            raise
        correlation = [f.value for f in figures]
        forced = any(f.verdict == "fail" for f in figures)
        _record_check(run, figures, forced)
        program.info["check"] = {"images": int(len(captured)), "correlation": correlation}
        program.info["check_threshold"] = threshold
        program.info["forced"] = forced
        backend_info = {"source": "student", "checkpoint": str(options.checkpoint)}
        folder = program.save(out, also=lambda work: save_backend(work, folded.backend, backend_info))
        run.append("channels", [{"channel": o, "fit_correlation": fit["correlation"][o], "check_correlation": c}
                                for o, c in enumerate(correlation)])
        tried = {str(c.info["double_phase_block"]): score for c, score in zip(candidates, scores)}
        run.set_metrics(
            multiplex=program.multiplex, encoding=program.encoding, patterns=int(program.patterns.shape[0]),
            input_scale=program.input_scale, exposure_s=program.exposure_s.tolist(), frames=program.frames.tolist(),
            compile_s=compile_s,
            frame_rate_time_hz=program.frame_rate_hz.get("time"), frame_rate_space_hz=program.frame_rate_hz.get("space"),
            correlation_min=float(np.min(correlation)), correlation_mean=float(np.mean(correlation)),
            model_hash=program.model_hash, calibration_hash=program.calibration_hash,
            double_phase_block=program.info["double_phase_block"], candidates=tried,
        )
        plot_masks(program, run.path("masks.png"))
        plot_features(captured, predicted, run.path("features.png"))
    return CompileResult(program, folder, run.folder, compile_s, correlation, tried)


def _record_check(run: Run, figures: Sequence[Figure], forced: bool) -> None:
    """The program check's figures in the run (``quality`` rows) and whether the program was kept anyway."""
    run.append("quality", [f.to_json() for f in figures])
    run.set_metrics(forced=forced)
