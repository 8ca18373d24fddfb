"""The infer job: load the program, its backend and the data, run the loop on the bench, record it.

Used by ``osclc infer`` and ``osclc demo``. The run (command ``infer``) holds the bench and loop
configs, the program / student / teacher identities, the budget predicted from the bench config
(with the readout and backend times measured once here), one record per frame, the accuracy with
its Wilson 95 % interval, and the latency report with its plots (:mod:`osclc.lab.latency.report`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from osclc.calibration.program import OpticalProgram
from osclc.calibration.record import bench_config_hash
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.backend_files import has_backend, load_backend
from osclc.lab.jobs.context import DEFAULT_CONTEXT, JobContext
from osclc.lab.latency.budget import LatencyBudget, predict_budget
from osclc.lab.latency.report import write_latency_report
from osclc.lab.latency.stats import percentile
from osclc.lab.loop.config import LoopConfig
from osclc.lab.loop.device_timing import repeat_timing
from osclc.lab.loop.runner import LoopOutcome, run_loop
from osclc.lab.runs import Run
from osclc.models.data.spec import load_dataset
from osclc.models.layers.backend import Backend
from osclc.models.networks.sclc import SCLC
from osclc.models.training.checkpoints import load_checkpoint
from osclc.models.training.evaluation import accuracy_interval


@dataclass
class InferResult:
    """The run folder, the loop's outcome (with the captured features), the metrics written and the budget."""

    folder: Path
    outcome: LoopOutcome
    metrics: dict[str, Any]
    budget: LatencyBudget


def resolve_backend(program_dir: str | Path, student: str | Path | None, device: torch.device) -> tuple[Backend, str]:
    """The backend to finish the program with: the one stored in the program folder, else the student's.

    Returns ``(backend, where it came from)``; a FileNotFoundError says how to get one otherwise, a ValueError
    that ``student`` is not an SCLC classifier (a teacher or a U-Net has no such backend).
    """
    if has_backend(program_dir):
        backend, info = load_backend(program_dir, device)
        return backend, f"{Path(program_dir) / 'backend.json'} ({info.get('source', 'stored')})"
    if student:
        model, meta = load_checkpoint(student, device=device)
        if not isinstance(model, SCLC):
            raise ValueError(f"{student}: a {meta.arch.variant} checkpoint ({type(model).__name__}) has no electronic backend to finish "
                             "the program; pass the SCLC student the program was compiled from")
        return model.backend, f"student checkpoint {student}"
    raise FileNotFoundError(
        f"{program_dir}: the program holds no electronic backend; pass --student CHECKPOINT (the student it was compiled from)"
    )


def measure_compute_once(program: OpticalProgram, backend: nn.Module, device: torch.device, repeat: int = 20) -> tuple[float, float]:
    """Median seconds of one readout (on a dark frame) and one backend call at batch 1, on this machine."""
    frames = np.zeros((len(program.patterns), *program.camera_shape), dtype=np.float32)
    readout_ms = repeat_timing(lambda: program.readout(frames), torch.device("cpu"), repeat)
    features = torch.zeros((1, program.out_channels, *program.out_size), device=device)
    backend = backend.to(device).eval()
    with torch.no_grad():
        backend_ms = repeat_timing(lambda: backend(features), device, repeat)
    return percentile(readout_ms, 50) / 1e3, percentile(backend_ms, 50) / 1e3


@dataclass(frozen=True)
class InferOptions:
    """What to run through the bench.

    - ``bench``: the bench config the program was compiled for;
    - ``program``: the optical program folder (``osclc compile``);
    - ``dataset``: dataset spec, e.g. ``digits``; ``split``: ``train``, ``val`` or ``test``; ``seed``: its split seed;
    - ``limit``: only the first ``limit`` images of the split (>= 1; None: all);
    - ``loop``: the loop settings (queues, batching, retries, pacing);
    - ``student``: student checkpoint: the backend when the program stores none, and timed as a digital baseline;
    - ``teacher``: teacher checkpoint, timed as a digital baseline;
    - ``baseline_repeat``: timed calls of each digital baseline (>= 1).
    """

    bench: BenchConfig
    program: Path
    dataset: str
    loop: LoopConfig = field(default_factory=LoopConfig)
    limit: int | None = None
    split: Literal["train", "val", "test"] = "test"
    seed: int = 0
    student: Path | None = None
    teacher: Path | None = None
    baseline_repeat: int = 30

    def __post_init__(self) -> None:
        if self.split not in ("train", "val", "test"):
            raise ValueError(f"split {self.split!r}: use train, val or test")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit {self.limit}: give at least 1 image")
        if self.baseline_repeat < 1:
            raise ValueError(f"baseline_repeat {self.baseline_repeat}: time each baseline at least once")


def infer(options: InferOptions, context: JobContext = DEFAULT_CONTEXT, backend: nn.Module | None = None) -> InferResult:
    """Run the ``options.split`` images of ``options.dataset`` (first ``limit``) through the bench and record the run.

    ``backend`` overrides :func:`resolve_backend`. SIGINT / SIGTERM end the run as ``aborted`` with
    the bench left safe; frames committed before stay readable.
    """
    device = context.device
    program = OpticalProgram.load(options.program, bench_hash=bench_config_hash(options.bench))
    if backend is None:
        backend, backend_source = resolve_backend(options.program, options.student, device)
    else:
        backend_source = "given by the caller"
    data = load_dataset(options.dataset, image_size=program.input_size, channels=program.in_channels, seed=options.seed)
    part = getattr(data, options.split)
    images = part.x.numpy()[: options.limit]
    labels = part.y.numpy()[: options.limit]
    inputs: dict[str, str | Path] = {"program": options.program}
    if options.student:
        inputs["student"] = options.student
    if options.teacher:
        inputs["teacher"] = options.teacher
    config = {"bench": options.bench.model_dump(mode="json"), "loop": options.loop.model_dump(mode="json"),
              "dataset": options.dataset, "split": options.split, "limit": options.limit, "seed": options.seed}
    with Run.create("infer", config=config, inputs=inputs, device=str(device), root=context.runs_dir, argv=context.argv_list) as run:
        readout_s, backend_s = measure_compute_once(program, backend, device)
        budget = predict_budget(
            options.bench, masks=len(program.patterns), readout_s=readout_s, backend_s=backend_s,
            exposure_s=program.exposure_s.tolist(), frames=program.frames.tolist(),
        )
        run.set_metrics(budget=budget.as_dict(), backend_source=backend_source, multiplex=program.multiplex)
        with open_bench(options.bench, emission=True) as bench:
            outcome = run_loop(
                bench, program, images, labels, options.loop, backend=backend, device=device, run=run, keep_features=True,
                progress="optical inference" if context.progress else None,
            )
        correct = int(np.sum(outcome.predictions == outcome.labels))
        acc = accuracy_interval(correct, len(labels))
        metrics = {"accuracy": acc.as_dict(), "frames": outcome.frames, "lost_frames": outcome.lost}
        run.set_metrics(**metrics)
        if outcome.lost >= outcome.frames:
            # nothing completed (e.g. the interlock opened before the first frame): no latency to measure; the run
            # ends degraded (exit 1) with the causes the loop recorded, not as bad input
            run.degrade(f"none of the {outcome.frames} frames completed; see the lost frames' causes in the run's records")
            return InferResult(run.folder, outcome, metrics, budget)
        report = write_latency_report(run.folder, device, options.teacher, options.student, repeat=options.baseline_repeat)
        metrics["latency"] = report["report"]
        metrics["baselines"] = report["baselines"]
        run.set_metrics(latency=report["report"], baselines=report["baselines"])
    return InferResult(run.folder, outcome, metrics, budget)
