"""``osclc demo``: the whole job on a fresh machine, on the simulated realistic bench, with no arguments.

Every step is a job of this package, the very one its command runs:

1. train the teacher CNN on the bundled 8 x 8 digits (:mod:`~osclc.lab.jobs.train`,
   ``configs/train-teacher-digits.yaml``);
2. train a detector-aware SCLC student (intensity detector, a few output channels so that one
   image needs few SLM masks) with knowledge distillation from the teacher's last checkpoint
   (``configs/train-student-digits.yaml``);
3. calibrate the simulated realistic bench (:mod:`~osclc.lab.jobs.calibrate`,
   ``configs/bench-sim-realistic.yaml``; the calibrations run on its virtual-clock twin, same optics, no waiting);
4. compile the student's last checkpoint exactly as ``osclc compile`` does (:mod:`~osclc.lab.jobs.compile`:
   candidates, feature normalisation on validation images, check on further ones, the student's backend
   stored with the program), on the virtual-clock twin;
5. optical inference on the test split with the pipelined loop on the real-clock bench
   (:mod:`~osclc.lab.jobs.infer`): accuracy, per-stage latency, budget, digital baselines;
6. hardware-in-the-loop fine-tuning of the backend on captured training features
   (:mod:`~osclc.lab.jobs.finetune`), evaluated on the very test frames of step 5.

The demo run (command ``demo``) holds the calibration record, the program, the summary table
(``demo.md``, ``metrics.json``, with the folder of every step's run) and the latency plots; each
step's own run (``train`` x 2, ``calibrate``, ``compile``, ``infer``, ``finetune``) sits beside it in
the same runs folder.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from osclc.configs import bundled
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.config.files import load_config
from osclc.lab.jobs.calibrate import CalibrateOptions, calibrate_bench
from osclc.lab.jobs.compile import CompileOptions, compile_student
from osclc.lab.jobs.context import JobContext, quiet
from osclc.lab.jobs.finetune import FinetuneOptions, FinetuneReport, finetune_program
from osclc.lab.jobs.infer import InferOptions, InferResult, infer
from osclc.lab.jobs.train import TrainJobResult, TrainOptions, train
from osclc.lab.loop.config import LoopConfig
from osclc.lab.loop.frame_record import SEGMENT_NAMES
from osclc.lab.runs import Run
from osclc.models.data.spec import load_dataset
from osclc.models.folding import fold
from osclc.models.training.config import TrainConfig
from osclc.models.training.evaluation import Accuracy, accuracy_interval, evaluate_classifier
from osclc.storage import save_bytes, save_text

BENCH = "bench-sim-realistic.yaml"
DATASET = "digits"


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of the demo (``--quick`` shrinks every one of them): epochs of the teacher, the student and the
    backend fine-tuning; the student's output channels (= SLM masks per image); validation images of the
    feature normalisation; test images of the optical inference and train / val images of the fine-tuning
    (None: all); timed calls of each digital baseline."""

    teacher_epochs: int = 20
    student_epochs: int = 30
    student_channels: int = 4
    normalise_images: int = 16
    infer_limit: int | None = None
    finetune_limit: int | None = None
    finetune_epochs: int = 150
    baseline_repeat: int = 30

    @classmethod
    def quick(cls) -> DemoSettings:
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


def _train_configs(settings: DemoSettings) -> tuple[TrainConfig, TrainConfig]:
    """The bundled teacher and student configs with the demo's epochs; the student reads out by intensity
    through ``settings.student_channels`` output channels (its teacher is set once the teacher is trained)."""
    teacher = load_config(bundled("train-teacher-digits.yaml"), kind="train")
    student = load_config(bundled("train-student-digits.yaml"), kind="train")
    arch = student.arch.model_copy(
        update={"channels": [settings.student_channels], "pools": None, "strides": None, "detector": "intensity"}
    )
    return (teacher.model_copy(update={"epochs": settings.teacher_epochs}),
            student.model_copy(update={"epochs": settings.student_epochs, "arch": arch}))


def _trained(result: TrainJobResult) -> tuple[Path, Accuracy]:
    """The ``last`` checkpoint of a train job (the weights its test accuracy is of) and that accuracy."""
    assert result.last is not None and result.accuracy is not None, "the demo runs in one process: it writes its runs"
    return result.last, result.accuracy


def _accuracy_row(name: str, acc: Accuracy | dict[str, Any], latency: dict[str, Any] | None) -> dict[str, Any]:
    value = acc if isinstance(acc, dict) else acc.as_dict()
    return {"model": name, **{k: value[k] for k in ("accuracy", "low", "high", "n")}, **(latency or {})}


DEMO_CONTEXT = JobContext(say=tqdm.write)
"""The demo's default context: its progress lines printed above the step bar."""


def run_demo(settings: DemoSettings = DemoSettings(), context: JobContext = DEMO_CONTEXT) -> DemoResult:
    """Run every step of the module docstring; returns the demo run and the table."""
    start = time.perf_counter()
    say = context.say
    steps_context = dataclasses.replace(context, say=quiet)  # the steps' own lines (epochs) stay in their runs
    bench_config = load_config(bundled(BENCH), kind="bench")
    teacher_cfg, student_cfg = _train_configs(settings)
    steps = tqdm(total=6, desc="osclc demo", unit="step", disable=not context.progress)
    with Run.create("demo", config={"settings": asdict(settings), "bench": bench_config.model_dump(mode="json")},
                    device=str(context.device), root=context.runs_dir, argv=context.argv_list) as run:
        say(f"demo run {run.folder}")
        steps.set_postfix_str("training the teacher")
        taught = train(TrainOptions(role="teacher", config=teacher_cfg), steps_context)
        teacher_path, teacher_acc = _trained(taught)
        say(f"teacher (digital): test accuracy {teacher_acc}")
        steps.update()

        steps.set_postfix_str("training the student with KD")
        learned = train(TrainOptions(role="student", config=student_cfg, teacher=teacher_path), steps_context)
        student_path, student_acc = _trained(learned)
        say(f"student (digital): test accuracy {student_acc}")
        steps.update()

        steps.set_postfix_str("calibrating the bench")
        calibrated = calibrate_bench(CalibrateOptions(bench=_virtual(bench_config), out=run.path("calibration.json"),
                                                      bench_file=bundled(BENCH)), context)
        run.set_metrics(calibration_fits=calibrated.record.fits, calibration_stats=calibrated.record.stats)
        steps.update()

        steps.set_postfix_str("compiling the student")
        data = load_dataset(DATASET)
        folded_acc = evaluate_classifier(fold(learned.model.to("cpu").eval()).eval(), data.test, data.num_classes,
                                         torch.device("cpu")).accuracy
        compiled = compile_student(CompileOptions(
            checkpoint=student_path, calibration=calibrated.out, bench=_virtual(bench_config), out=run.path("program"),
            normalise_images=settings.normalise_images, bench_file=bundled(BENCH),
        ), steps_context)
        program, program_dir = compiled.program, compiled.program_dir
        normalisation = program.info["normalisation"]
        say(f"program: {program.multiplex} multiplexing, {len(program.patterns)} mask(s), feature correlation "
            f"{min(normalisation['correlation']):.3f} .. {max(normalisation['correlation']):.3f}")
        steps.update()

        steps.set_postfix_str("optical inference")
        inferred = infer(InferOptions(bench=bench_config, program=program_dir, dataset=DATASET, limit=settings.infer_limit,
                                      student=student_path, teacher=teacher_path, baseline_repeat=settings.baseline_repeat),
                         steps_context)
        for name in ("latency_hist.png", "latency_breakdown.png", "latency.md"):
            save_bytes(run.path(name), (inferred.folder / name).read_bytes())
        say(f"optical inference: run {inferred.folder}")
        steps.update()

        steps.set_postfix_str("fine-tuning the backend")
        tuned = finetune_program(FinetuneOptions(
            bench=_virtual(bench_config), program=program_dir, dataset=DATASET, loop=LoopConfig(pacing="free"),
            student=student_path, epochs=settings.finetune_epochs, limit=settings.finetune_limit,
        ), steps_context, test_features=inferred.outcome.features)
        steps.update()
        steps.close()

        rows, stages = _table_rows(teacher_acc, student_acc, folded_acc, inferred, tuned)
        seconds = time.perf_counter() - start
        text = format_table(rows, stages, inferred.budget.latency_s * 1e3)
        runs = {"teacher": taught.folder, "student": learned.folder, "calibrate": calibrated.folder,
                "compile": compiled.folder, "infer": inferred.folder, "finetune": tuned.folder}
        save_text(
            run.path("demo.md"),
            "# osclc demo\n\n```\n" + text + "\n```\n\n"
            + "Runs of the steps: " + ", ".join(f"{step} `{folder}`" for step, folder in runs.items())
            + f"; calibration `{calibrated.out.name}`, program `program/`; {seconds:.0f} s in all.\n"
        )
        run.set_metrics(table=rows, stages=stages, seconds=seconds, infer_run=str(inferred.folder),
                        finetune_run=str(tuned.folder), runs={step: str(folder) for step, folder in runs.items()},
                        recovered_fraction=tuned.recovered)
        run.add_input("teacher", teacher_path)
        run.add_input("student", student_path)
    return DemoResult(run.folder, rows, stages, inferred.folder, tuned.folder, seconds, inferred.budget.latency_s * 1e3)


def _table_rows(
    teacher_acc: Accuracy, student_acc: Accuracy, folded_acc: Accuracy, inferred: InferResult, tuned: FinetuneReport
) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    baselines = inferred.metrics.get("baselines") or {}

    def digital(name: str) -> dict[str, Any] | None:
        b = baselines.get(name)
        return None if b is None else {"p50_ms": b["batch1"]["p50_ms"], "p99_ms": b["batch1"]["p99_ms"], "throughput_fps": b["throughput_fps"]}

    latency = inferred.metrics["latency"]
    optical = {"p50_ms": latency["end_to_end"]["p50_ms"], "p99_ms": latency["end_to_end"]["p99_ms"],
               "throughput_fps": latency["throughput_fps"]}
    n = len(inferred.outcome.predictions)  # one per image, -1 for a lost frame
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
