"""``osclc demo``: the whole job on a fresh machine, on the simulated realistic bench, with no arguments.

Steps (each through the other packages' public functions):

1. train the teacher CNN on the bundled 8 x 8 digits (``configs/train-teacher-digits.yaml``);
2. train a detector-aware SCLC student (intensity detector, a few output channels so that one
   image needs few SLM masks) with knowledge distillation from the teacher
   (``configs/train-student-digits.yaml``);
3. calibrate the simulated realistic bench (``configs/bench-sim-realistic.yaml``; the
   calibrations run on its virtual-clock twin, same optics, no waiting);
4. fold the student and compile it into an optical program, fit the feature normalisation on a
   few validation images, store the student's backend with the program;
5. optical inference on the whole test split with the pipelined loop on the real-clock bench
   (``osclc.lab.jobs.infer``): accuracy, per-stage latency, budget, digital baselines;
6. hardware-in-the-loop fine-tuning of the backend on captured training features
   (``osclc.lab.jobs.finetune``), evaluated on the very test frames of step 5.

The demo run (command ``demo``) holds the checkpoints, the calibration record, the program, the
summary table (``demo.md``, ``metrics.json``) and the latency plots; the inference and fine-tuning
runs sit beside it in the same runs folder.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm import tqdm

from osclc.calibration.measure.calibrate import calibrate
from osclc.calibration.compiler.pipeline import compile_program
from osclc.calibration.compiler import fit_normalisation
from osclc.configs import bundled
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.backend_files import save_backend
from osclc.lab.config.files import load_config
from osclc.lab.jobs.finetune import finetune_program
from osclc.lab.loop.frame_record import SEGMENT_NAMES
from osclc.lab.jobs.infer import infer
from osclc.lab.loop.config import LoopConfig
from osclc.lab.runs import Run, sha256_file
from osclc.models.data.spec import load_dataset
from osclc.models.training.evaluation import Accuracy, accuracy_interval, evaluate_classifier
from osclc.models.folding import fold
from osclc.models.training.config import TrainConfig
from osclc.models.training.trainer import train_model
from osclc.storage import save_bytes, save_text

BENCH = "bench-sim-realistic.yaml"


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of the demo (``--quick`` shrinks every one of them)."""

    teacher_epochs: int = 20
    student_epochs: int = 30
    student_channels: int = 4
    normalise_images: int = 16
    infer_limit: int | None = None
    finetune_limit: int | None = None
    finetune_epochs: int = 150
    baseline_repeat: int = 30

    @classmethod
    def quick(cls) -> "DemoSettings":
        """The reduced demo the test suite runs end to end."""
        return cls(teacher_epochs=1, student_epochs=1, student_channels=2, normalise_images=8, infer_limit=24,
                   finetune_limit=48, finetune_epochs=20, baseline_repeat=3)


@dataclass
class DemoResult:
    """The demo run folder, the table rows, the optical stages, the runs it made, its duration (s) and the predicted latency (ms)."""

    folder: Path
    rows: list[dict[str, Any]]
    stages: dict[str, dict[str, float]]
    infer_run: Path
    finetune_run: Path
    seconds: float
    predicted_ms: float


def _virtual(config: BenchConfig) -> BenchConfig:
    return config.model_copy(update={"simulation": config.simulation.model_copy(update={"clock": "virtual"})})


def _train(config: TrainConfig, data: Any, run: Run, name: str, device: torch.device, teacher: Any = None,
           teacher_path: Path | None = None) -> tuple[Any, Path, Accuracy]:
    identity = {"path": str(teacher_path), "sha256": sha256_file(teacher_path)} if teacher_path else None

    def on_epoch(result: Any) -> None:
        run.append(f"{name}_epochs", [result.as_row()])

    result = train_model(config, data, teacher=teacher, teacher_identity=identity, device=device,
                         checkpoint_dir=run.path(name), on_epoch=on_epoch, progress=True)
    checkpoint = result.best or result.last
    accuracy = evaluate_classifier(result.model, data.test, data.num_classes, device).accuracy
    return result.model, Path(checkpoint), accuracy


def _accuracy_row(name: str, acc: Accuracy | dict[str, Any], latency: dict[str, Any] | None) -> dict[str, Any]:
    value = acc if isinstance(acc, dict) else acc.as_dict()
    return {"model": name, **{k: value[k] for k in ("accuracy", "low", "high", "n")}, **(latency or {})}


def run_demo(
    quick: bool = False,
    device: torch.device | None = None,
    runs_dir: str | Path | None = None,
    say: Callable[[str], None] = tqdm.write,
) -> DemoResult:
    """Run every step of the module docstring; returns the demo run and the table."""
    start = time.perf_counter()
    settings = DemoSettings.quick() if quick else DemoSettings()
    device = device or torch.device("cpu")
    data = load_dataset("digits")
    bench_config = load_config(bundled(BENCH), kind="bench")
    steps = tqdm(total=6, desc="osclc demo", unit="step")
    with Run.create("demo", config={"settings": asdict(settings), "bench": bench_config.model_dump(mode="json")},
                    device=str(device), root=runs_dir) as run:
        say(f"demo run {run.folder}")
        teacher_cfg = load_config(bundled("train-teacher-digits.yaml"), kind="train")
        teacher_cfg = teacher_cfg.model_copy(update={"epochs": settings.teacher_epochs})
        steps.set_postfix_str("training the teacher")
        teacher, teacher_path, teacher_acc = _train(teacher_cfg, data, run, "teacher", device)
        say(f"teacher (digital): test accuracy {teacher_acc}")
        steps.update()

        student_cfg = load_config(bundled("train-student-digits.yaml"), kind="train")
        arch = student_cfg.arch.model_copy(
            update={"channels": [settings.student_channels], "pools": None, "strides": None, "detector": "intensity"}
        )
        student_cfg = student_cfg.model_copy(update={"epochs": settings.student_epochs, "arch": arch, "teacher": str(teacher_path)})
        steps.set_postfix_str("training the student with KD")
        student, student_path, student_acc = _train(student_cfg, data, run, "student", device, teacher, teacher_path)
        say(f"student (digital): test accuracy {student_acc}")
        steps.update()

        steps.set_postfix_str("calibrating the bench")
        with open_bench(_virtual(bench_config)) as bench:
            calibration = calibrate(bench, "all", run_id=run.run_id, progress=lambda what: say(f"calibrating: {what}"))
        calibration_path = calibration.record.save(run.path("calibration.json"))
        run.set_metrics(calibration_fits=calibration.record.fits, calibration_stats=calibration.record.stats)
        steps.update()

        steps.set_postfix_str("compiling the student")
        folded = fold(student.to("cpu").eval()).eval()
        folded_acc = evaluate_classifier(folded, data.test, data.num_classes, torch.device("cpu")).accuracy
        program = compile_program(folded, calibration.record, bench_config)
        images = data.val.x[: settings.normalise_images]
        with torch.no_grad():
            digital = folded.features(images).numpy()
        with open_bench(_virtual(bench_config)) as bench:
            normalisation = fit_normalisation(bench, program, digital, images.numpy())
        backend_info = {"source": "student", "checkpoint": str(student_path)}
        program_dir = program.save(run.path("program"), also=lambda work: save_backend(work, student.backend, backend_info))
        say(f"program: {program.multiplex} multiplexing, {len(program.patterns)} mask(s), feature correlation "
            f"{min(normalisation['correlation']):.3f} .. {max(normalisation['correlation']):.3f}")
        steps.update()

        steps.set_postfix_str("optical inference")
        inferred = infer(bench_config, program_dir, "digits", LoopConfig(), device, limit=settings.infer_limit,
                         student=student_path, teacher=teacher_path, runs_dir=runs_dir, baseline_repeat=settings.baseline_repeat)
        for name in ("latency_hist.png", "latency_breakdown.png", "latency.md"):
            save_bytes(run.path(name), (inferred.folder / name).read_bytes())
        say(f"optical inference: run {inferred.folder}")
        steps.update()

        steps.set_postfix_str("fine-tuning the backend")
        tuned = finetune_program(
            _virtual(bench_config), program_dir, "digits", LoopConfig(pacing="free"), device, student=student_path,
            epochs=settings.finetune_epochs, limit=settings.finetune_limit, test_features=inferred.outcome.features,
            runs_dir=runs_dir,
        )
        steps.update()
        steps.close()

        rows, stages = _table_rows(teacher_acc, student_acc, folded_acc, inferred, tuned)
        seconds = time.perf_counter() - start
        text = format_table(rows, stages, inferred.budget.latency_s * 1e3)
        save_text(
            run.path("demo.md"),
            "# osclc demo\n\n```\n" + text + "\n```\n\n"
            f"Optical inference run: `{inferred.folder}`; fine-tuning run: `{tuned.folder}`; "
            f"calibration `{calibration_path.name}`, program `program/`; {seconds:.0f} s in all.\n"
        )
        run.set_metrics(table=rows, stages=stages, seconds=seconds, infer_run=str(inferred.folder),
                        finetune_run=str(tuned.folder), recovered_fraction=tuned.recovered)
        run.add_input("teacher", teacher_path)
        run.add_input("student", student_path)
    return DemoResult(run.folder, rows, stages, inferred.folder, tuned.folder, seconds, inferred.budget.latency_s * 1e3)


def _table_rows(
    teacher_acc: Accuracy, student_acc: Accuracy, folded_acc: Accuracy, inferred: Any, tuned: Any
) -> tuple[list[dict[str, Any]], dict]:
    baselines = inferred.metrics.get("baselines") or {}

    def digital(name: str) -> dict[str, Any] | None:
        b = baselines.get(name)
        return None if b is None else {"p50_ms": b["batch1"]["p50_ms"], "p99_ms": b["batch1"]["p99_ms"], "throughput_fps": b["throughput_fps"]}

    latency = inferred.metrics["latency"]
    optical = {"p50_ms": latency["end_to_end"]["p50_ms"], "p99_ms": latency["end_to_end"]["p99_ms"],
               "throughput_fps": latency["throughput_fps"]}
    n = len(inferred.outcome.labels)
    after_correct = int(round(tuned.after * n))
    rows = [
        _accuracy_row("teacher CNN (digital)", teacher_acc, digital("teacher")),
        _accuracy_row("student SCLC (digital, layer by layer)", student_acc, digital("SCLC layer by layer")),
        _accuracy_row("student SCLC (digital, folded)", folded_acc, digital("SCLC folded")),
        _accuracy_row("student optical (simulated bench)", inferred.metrics["accuracy"], optical),
        _accuracy_row("student optical, fine-tuned backend", accuracy_interval(after_correct, n), optical),
    ]
    stages = {SEGMENT_NAMES.get(k, k): {"p50_ms": v["p50_ms"], "p99_ms": v["p99_ms"]} for k, v in latency["segments"].items()}
    return rows, stages


def format_table(rows: list[dict[str, Any]], stages: dict[str, dict[str, float]], predicted_ms: float) -> str:
    """The demo's printed table: accuracy with its interval, latency and throughput; then the optical stages."""
    lines = [f"{'model':<40} {'test accuracy (95 % CI)':<26} {'p50 ms':>9} {'p99 ms':>9} {'images/s':>9}"]
    for r in rows:
        acc = f"{100 * r['accuracy']:.2f} % [{100 * r['low']:.1f}, {100 * r['high']:.1f}]"
        lat = (f"{r['p50_ms']:9.3f} {r['p99_ms']:9.3f} {r['throughput_fps']:9.1f}" if r.get("p50_ms") is not None
               else f"{'-':>9} {'-':>9} {'-':>9}")
        lines.append(f"{r['model']:<40} {acc:<26} {lat}")
    lines.append("")
    lines.append(f"optical loop per stage (predicted end to end from the bench config: {predicted_ms:.2f} ms)")
    lines.append(f"{'stage':<40} {'p50 ms':>9} {'p99 ms':>9}")
    for name, s in stages.items():
        lines.append(f"{name:<40} {s['p50_ms']:9.3f} {s['p99_ms']:9.3f}")
    return "\n".join(lines)


def lost_accuracy_summary(result: DemoResult) -> str:
    """One line: how much accuracy the bench lost against the digital student and how much fine-tuning won back."""
    by_name = {r["model"]: r["accuracy"] for r in result.rows}
    digital = by_name["student SCLC (digital, layer by layer)"]
    optical = by_name["student optical (simulated bench)"]
    tuned = by_name["student optical, fine-tuned backend"]
    lost = digital - optical
    if lost <= 0:
        return f"the bench lost no accuracy against the digital student ({100 * digital:.2f} % digital, {100 * optical:.2f} % optical)"
    return f"the bench lost {100 * lost:.2f} points; fine-tuning won back {100 * (tuned - optical):.2f} ({100 * (tuned - optical) / lost:.0f} %)"
