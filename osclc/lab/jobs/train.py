"""The train job: a teacher CNN, or an SCLC student (KD from a teacher), trained into a run.

Used by ``osclc train teacher|student``. The run (command ``train``) gets one ``epochs`` row per
epoch, ``loss.png`` / ``accuracy.png``, the test accuracy with its 95 % interval and ``confusion.png``,
and ``checkpoints/last`` (every epoch, with the optimiser state for ``resume``) and ``checkpoints/best``
(highest validation accuracy). Under ``torchrun --nproc_per_node K`` the K processes train together
(DDP) and rank 0 writes the run.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from osclc.configs import bundled
from osclc.lab.config.files import ConfigError, load_config, validate
from osclc.lab.jobs.context import DEFAULT_CONTEXT, JobContext
from osclc.lab.jobs.evaluate import record_confusion
from osclc.lab.plots.training import plot_history
from osclc.lab.runs import Run, find_run, sha256_file
from osclc.models.data.spec import load_dataset
from osclc.models.training.checkpoints import CheckpointError, checkpoint_folder, load_checkpoint, read_meta
from osclc.models.training.config import TrainConfig
from osclc.models.training.distributed import init_distributed, shutdown_distributed
from osclc.models.training.evaluation import Accuracy, evaluate_classifier
from osclc.models.training.trainer import EpochResult, train_model

Role = Literal["teacher", "student"]
TEACHER_VARIANTS = ("teacher", "sq_teacher", "unet")
"""Architectures trained on the labels alone; every other variant is a student."""


def role_of(variant: str) -> Role:
    """``teacher`` for an architecture of :data:`TEACHER_VARIANTS`, else ``student``."""
    return "teacher" if variant in TEACHER_VARIANTS else "student"


@dataclass(frozen=True)
class TrainOptions:
    """What to train.

    - ``role``: ``teacher`` (labels only) or ``student`` (KD from the config's teacher, if any);
    - ``config``: the training config (None: the resumed checkpoint's, else the bundled ``train-<role>-digits.yaml``);
    - ``resume``: continue a killed run: its run id or folder, or a ``last`` checkpoint folder of the same role;
    - ``teacher``: teacher checkpoint folder for KD (overrides the config's ``teacher``);
    - ``epochs``: overrides the config's number of epochs (>= 1).
    """

    role: Role
    config: TrainConfig | None = None
    resume: str | Path | None = None
    teacher: Path | None = None
    epochs: int | None = None

    def __post_init__(self) -> None:
        if self.role not in ("teacher", "student"):
            raise ValueError(f"role {self.role!r}: choose teacher or student")
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"--epochs {self.epochs}: must be >= 1")


@dataclass(frozen=True)
class TrainJobResult:
    """The trained model and, on the process that writes the run (rank 0; otherwise None): the run folder, the
    test accuracy, the pixel scores of a segmentation model (fractions) and the ``last`` / ``best`` checkpoints."""

    model: nn.Module
    folder: Path | None = None
    accuracy: Accuracy | None = None
    scores: dict[str, float] | None = None
    last: Path | None = None
    best: Path | None = None


def resume_checkpoint(value: str | Path, runs_dir: str | Path | None) -> Path:
    """The checkpoint to resume from: a checkpoint folder, or a run (id or folder) -> its checkpoints/last."""
    path = Path(value)
    if (path / "meta.json").is_file() or path.is_file():
        return checkpoint_folder(path)
    run_folder = find_run(str(value), runs_dir)
    return checkpoint_folder(run_folder / "checkpoints" / "last")


def _check_resumed_role(resume: Path, role: Role) -> None:
    variant = read_meta(resume).arch.variant
    if role_of(variant) != role:
        raise CheckpointError(
            f"{resume}: is a {role_of(variant)} checkpoint (arch.variant {variant!r}) but a {role} was asked for; "
            f"resume it with 'osclc train {role_of(variant)} --resume', or give a {role} checkpoint"
        )


def resolve_config(options: TrainOptions, resume: Path | None) -> TrainConfig:
    """The training config of this job: ``options.config``, else the resumed checkpoint's, else the bundled one;
    with the options' overrides, checked against the role."""
    if resume is not None:
        _check_resumed_role(resume, options.role)
    if options.config is not None:
        config = options.config
    elif resume is not None:
        saved = read_meta(resume).train_config
        if saved is None:
            raise CheckpointError(f"{resume}: holds no training config; give --config")
        config = validate(saved, TrainConfig, f"{resume}/meta.json train_config")
    else:
        config = load_config(bundled(f"train-{options.role}-digits.yaml"), kind="train")
    updates: dict[str, Any] = {}
    if options.epochs is not None:
        updates["epochs"] = options.epochs
    if options.teacher:
        updates["teacher"] = str(options.teacher)
    config = config.model_copy(update=updates)
    variant = config.arch.variant
    if options.role == "teacher":
        if config.teacher:
            raise ConfigError("teacher: a teacher trains on the labels alone; remove 'teacher' from the config / --teacher")
        if variant not in TEACHER_VARIANTS:
            raise ConfigError(f"arch.variant: {variant!r} is a student; 'osclc train teacher' trains {' or '.join(TEACHER_VARIANTS)}")
    return config


def train(options: TrainOptions, context: JobContext = DEFAULT_CONTEXT) -> TrainJobResult:
    """Train as ``options`` say on ``context.device`` (joining a torchrun group if there is one); rank 0 records the run."""
    resume = resume_checkpoint(options.resume, context.runs_dir) if options.resume else None
    config = resolve_config(options, resume)
    info, device = init_distributed(context.device)
    try:
        return _train(options.role, config, resume, info.is_main, device, context)
    finally:
        shutdown_distributed()


def _record_epoch(run: Run, context: JobContext, epochs: int, result: EpochResult) -> None:
    """Append one epoch's row to ``run`` and say it (``epochs``: how many the training runs)."""
    run.append("epochs", [result.as_row()])
    val = "" if result.val_accuracy is None else f", val acc {100 * result.val_accuracy:.2f} %"
    context.say(f"epoch {result.epoch}/{epochs}: loss {result.train_loss:.4f}, "
                f"train acc {100 * result.train_accuracy:.2f} %{val} ({result.seconds:.1f} s)")


def _train(role: Role, config: TrainConfig, resume: Path | None, is_main: bool, device: torch.device,
           context: JobContext) -> TrainJobResult:
    data = load_dataset(config.dataset, config.image_size, config.channels, config.split_seed, config.val_fraction)
    teacher = teacher_identity = None
    inputs: dict[str, Path] = {}
    if role == "student" and config.teacher:
        teacher_path = checkpoint_folder(config.teacher)
        teacher, _ = load_checkpoint(
            teacher_path, device, image_size=data.image_size, in_channels=data.channels, num_classes=data.num_classes
        )
        teacher_identity = {"path": str(teacher_path.resolve()), "sha256": sha256_file(teacher_path)}
        inputs["teacher"] = teacher_path
    if resume is not None:
        inputs["resume"] = resume
    run_context = (
        Run.create("train", config=config, device=str(device), root=context.runs_dir, inputs=inputs, argv=context.argv_list)
        if is_main else contextlib.nullcontext()
    )
    with run_context as run:
        if run is not None:
            context.say(f"training {role} {config.arch.variant} on {data.summary()}; run {run.folder}")
        result = train_model(
            config, data, teacher=teacher, teacher_identity=teacher_identity, device=device,
            checkpoint_dir=run.path("checkpoints") if run is not None else None, resume=resume,
            on_epoch=partial(_record_epoch, run, context, config.epochs) if run is not None else None, progress=context.progress,
        )
        if run is None:
            return TrainJobResult(result.model)
        rows = [h.as_row() for h in result.history]
        plot_history(rows, run.path("loss.png"), run.path("accuracy.png"), f"{role} {config.arch.variant}")
        evaluation = evaluate_classifier(result.model, data.test, data.num_classes, device, config.eval_batch_size)
        scores = record_confusion(run, evaluation, list(data.class_names), f"{config.arch.variant} on {data.spec} (test)", data.task)
        accuracy = evaluation.accuracy
        last = result.history[-1] if result.history else None
        run.set_metrics(
            test_accuracy=accuracy.value, test_accuracy_low=accuracy.low, test_accuracy_high=accuracy.high,
            n_test=accuracy.total, epochs=result.meta.epoch,
            val_accuracy=last.val_accuracy if last else None, train_loss=last.train_loss if last else None,
            checkpoint_last=str(result.last) if result.last else None, checkpoint_best=str(result.best) if result.best else None,
            **{f"test_{key}": value for key, value in (scores or {}).items()},
        )
    return TrainJobResult(result.model, run.folder, accuracy, scores, result.last, result.best)
