"""One optical inference job: load the program, its backend and the data, run the loop on the bench, record it.

Used by ``osclc infer`` and ``osclc demo``. The run (command ``infer``) holds the bench and loop
configs, the program / student / teacher identities, the budget predicted from the bench config
(with the readout and backend times measured once here), one record per frame, the accuracy with
its Wilson 95 % interval, and the latency report with its plots (:mod:`osclc.lab.latency.report`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from osclc.calibration.program import OpticalProgram
from osclc.calibration.record import bench_config_hash
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.backend_files import has_backend, load_backend
from osclc.lab.latency.budget import LatencyBudget, predict_budget
from osclc.lab.loop.device_timing import repeat_timing
from osclc.lab.latency.report import write_latency_report
from osclc.lab.latency.stats import percentile
from osclc.lab.loop.runner import LoopOutcome, run_loop
from osclc.lab.loop.config import LoopConfig
from osclc.lab.runs import Run
from osclc.models.training.checkpoints import load_checkpoint
from osclc.models.data.spec import load_dataset
from osclc.models.training.evaluation import accuracy_interval


@dataclass
class InferResult:
    """The run folder, the loop's outcome (with the captured features), the metrics written and the budget."""

    folder: Path
    outcome: LoopOutcome
    metrics: dict[str, Any]
    budget: LatencyBudget


def resolve_backend(program_dir: str | Path, student: str | Path | None, device: torch.device) -> tuple[nn.Module, str]:
    """The backend to finish the program with: the one stored in the program folder, else the student's.

    Returns ``(backend, where it came from)``; a FileNotFoundError says how to get one otherwise.
    """
    if has_backend(program_dir):
        backend, info = load_backend(program_dir, device)
        return backend, f"{Path(program_dir) / 'backend.json'} ({info.get('source', 'stored')})"
    if student:
        model, _ = load_checkpoint(student, device=device)
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


def infer(
    bench_config: BenchConfig,
    program_dir: str | Path,
    dataset: str,
    loop: LoopConfig,
    device: torch.device,
    *,
    limit: int | None = None,
    split: str = "test",
    seed: int = 0,
    student: str | Path | None = None,
    teacher: str | Path | None = None,
    backend: nn.Module | None = None,
    runs_dir: str | Path | None = None,
    argv: list[str] | None = None,
    progress: bool = True,
    baseline_repeat: int = 30,
) -> InferResult:
    """Run the ``split`` images of ``dataset`` (first ``limit``) through the bench and record the run.

    ``backend`` overrides :func:`resolve_backend`. SIGINT / SIGTERM end the run as ``aborted`` with
    the bench left safe; frames committed before stay readable.
    """
    program = OpticalProgram.load(program_dir, bench_hash=bench_config_hash(bench_config))
    if backend is None:
        backend, backend_source = resolve_backend(program_dir, student, device)
    else:
        backend_source = "given by the caller"
    if split not in ("train", "val", "test"):
        raise ValueError(f"split {split!r}: use train, val or test")
    if limit is not None and limit < 1:
        raise ValueError(f"--limit {limit}: give at least 1 image")
    data = load_dataset(dataset, image_size=program.input_size, channels=program.in_channels, seed=seed)
    part = getattr(data, split)
    images = part.x.numpy()[:limit]
    labels = part.y.numpy()[:limit]
    inputs: dict[str, str | Path] = {"program": program_dir}
    if student:
        inputs["student"] = student
    if teacher:
        inputs["teacher"] = teacher
    config = {"bench": bench_config.model_dump(mode="json"), "loop": loop.model_dump(mode="json"),
              "dataset": dataset, "split": split, "limit": limit, "seed": seed}
    with Run.create("infer", config=config, inputs=inputs, device=str(device), root=runs_dir, argv=argv) as run:
        readout_s, backend_s = measure_compute_once(program, backend, device)
        budget = predict_budget(
            bench_config, masks=len(program.patterns), readout_s=readout_s, backend_s=backend_s,
            exposure_s=program.exposure_s.tolist(), frames=program.frames.tolist(),
        )
        run.set_metrics(budget=budget.as_dict(), backend_source=backend_source, multiplex=program.multiplex)
        with open_bench(bench_config, emission=True) as bench:
            outcome = run_loop(
                bench, program, images, labels, loop, backend=backend, device=device, run=run, keep_features=True,
                progress="optical inference" if progress else None,
            )
        correct = int(np.sum(outcome.predictions == outcome.labels))
        acc = accuracy_interval(correct, len(labels))
        metrics = {"accuracy": acc.as_dict(), "frames": outcome.frames, "lost_frames": outcome.lost}
        run.set_metrics(**metrics)
        report = write_latency_report(run.folder, device, teacher, student, repeat=baseline_repeat)
        metrics["latency"] = report["report"]
        metrics["baselines"] = report["baselines"]
        run.set_metrics(latency=report["report"], baselines=report["baselines"])
    return InferResult(run.folder, outcome, metrics, budget)
