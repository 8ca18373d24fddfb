"""``osclc train teacher|student``: train a teacher CNN, or an SCLC student (KD from a teacher), into a run.

The run folder gets one ``epochs`` row per epoch, ``loss.png`` / ``accuracy.png``, the test
accuracy with its 95 % interval and ``confusion.png``, and ``checkpoints/last`` (every epoch,
with the optimiser state for ``--resume``) and ``checkpoints/best`` (highest validation accuracy).
Under ``torchrun --nproc_per_node K`` the K processes train together (DDP) and rank 0 writes the run.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from tqdm import tqdm

from osclc.configs import bundled
from osclc.lab.config.files import ConfigError, load_config, validate
from osclc.lab.runs import Run, find_run, sha256_file
from osclc.lab.plots.training import plot_confusion, plot_history
from osclc.models.training.checkpoints import CheckpointError, checkpoint_folder, load_checkpoint, read_meta
from osclc.models.data.spec import load_dataset
from osclc.models.torch_device import select_device
from osclc.models.training.distributed import init_distributed, shutdown_distributed
from osclc.models.training.evaluation import evaluate_classifier
from osclc.models.training.segmentation_metrics import ConfusionMatrix, format_scores
from osclc.models.training.config import TrainConfig
from osclc.models.training.trainer import EpochResult, train_model

TEACHER_VARIANTS = ("teacher", "sq_teacher", "unet")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``osclc train teacher|student``."""
    parser = sub.add_parser("train", help="train a teacher CNN or an SCLC student (with KD) on a dataset")
    parser.add_argument("role", choices=("teacher", "student"), help="teacher: labels only; student: KD from --teacher if given")
    parser.add_argument("--config", help="train config YAML (default: the bundled train-<role>-digits.yaml, "
                        "or the config saved in the --resume checkpoint)")
    parser.add_argument("--resume", metavar="RUN_OR_CKPT", help="continue a killed run: its run id/folder or a 'last' checkpoint folder")
    parser.add_argument("--teacher", metavar="CKPT", help="teacher checkpoint folder for KD (overrides the config's 'teacher')")
    parser.add_argument("--epochs", type=int, help="override the config's number of epochs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run_train)


def resume_checkpoint(value: str, runs_dir: str | None) -> Path:
    """The checkpoint to resume from: a checkpoint folder, or a run (id or folder) -> its checkpoints/last."""
    path = Path(value)
    if (path / "meta.json").is_file() or path.is_file():
        return checkpoint_folder(path)
    run_folder = find_run(value, runs_dir)
    return checkpoint_folder(run_folder / "checkpoints" / "last")


def resolve_config(args: argparse.Namespace, resume: Path | None) -> TrainConfig:
    """The training config of this command: --config, else the resumed checkpoint's, else the bundled one."""
    if args.config:
        config = load_config(args.config, kind="train")
    elif resume is not None:
        saved = read_meta(resume).train_config
        if saved is None:
            raise CheckpointError(f"{resume}: holds no training config; give --config")
        config = validate(saved, TrainConfig, f"{resume}/meta.json train_config")
    else:
        config = load_config(bundled(f"train-{args.role}-digits.yaml"), kind="train")
    assert isinstance(config, TrainConfig)
    updates: dict[str, Any] = {}
    if args.epochs is not None:
        if args.epochs < 1:
            raise ConfigError(f"--epochs {args.epochs}: must be >= 1")
        updates["epochs"] = args.epochs
    if args.teacher:
        updates["teacher"] = args.teacher
    config = config.model_copy(update=updates)
    variant = config.arch.variant
    if args.role == "teacher":
        if config.teacher:
            raise ConfigError("teacher: a teacher trains on the labels alone; remove 'teacher' from the config / --teacher")
        if variant not in TEACHER_VARIANTS:
            raise ConfigError(f"arch.variant: {variant!r} is a student; 'osclc train teacher' trains {' or '.join(TEACHER_VARIANTS)}")
    return config


def run_train(args: argparse.Namespace) -> int:
    """Handler of ``osclc train``."""
    resume = resume_checkpoint(args.resume, args.runs_dir) if args.resume else None
    config = resolve_config(args, resume)
    info, device = init_distributed(select_device(args.device))
    try:
        return _train(args, config, resume, info.is_main, device)
    finally:
        shutdown_distributed()


def _train(args: argparse.Namespace, config: TrainConfig, resume: Path | None, is_main: bool, device: Any) -> int:
    data = load_dataset(config.dataset, config.image_size, config.channels, config.split_seed, config.val_fraction)
    teacher = teacher_identity = None
    inputs: dict[str, Path] = {}
    if args.role == "student" and config.teacher:
        teacher_path = checkpoint_folder(config.teacher)
        teacher, _ = load_checkpoint(
            teacher_path, device, image_size=data.image_size, in_channels=data.channels, num_classes=data.num_classes
        )
        teacher_identity = {"path": str(teacher_path.resolve()), "sha256": sha256_file(teacher_path)}
        inputs["teacher"] = teacher_path
    if resume is not None:
        inputs["resume"] = resume
    run_context = (
        Run.create("train", config=config, device=str(device), root=args.runs_dir, inputs=inputs)
        if is_main else contextlib.nullcontext()
    )
    with run_context as run:
        if run is not None:
            print(f"training {args.role} {config.arch.variant} on {data.summary()}; run {run.folder}")

        def on_epoch(result: EpochResult) -> None:
            run.append("epochs", [result.as_row()])
            val = "" if result.val_accuracy is None else f", val acc {100 * result.val_accuracy:.2f} %"
            tqdm.write(f"epoch {result.epoch}/{config.epochs}: loss {result.train_loss:.4f}, "
                       f"train acc {100 * result.train_accuracy:.2f} %{val} ({result.seconds:.1f} s)")

        result = train_model(
            config, data, teacher=teacher, teacher_identity=teacher_identity, device=device,
            checkpoint_dir=run.path("checkpoints") if run is not None else None, resume=resume,
            on_epoch=on_epoch if run is not None else None, progress=not args.no_progress,
        )
        if run is None:
            return 0
        rows = [h.as_row() for h in result.history]
        plot_history(rows, run.path("loss.png"), run.path("accuracy.png"), f"{args.role} {config.arch.variant}")
        evaluation = evaluate_classifier(result.model, data.test, data.num_classes, device, config.eval_batch_size)
        run.save_array("confusion", evaluation.confusion)
        plot_confusion(evaluation.confusion, data.class_names, run.path("confusion.png"), f"{config.arch.variant} on {data.spec} (test)")
        accuracy = evaluation.accuracy
        last = result.history[-1] if result.history else None
        run.set_metrics(
            test_accuracy=accuracy.value, test_accuracy_low=accuracy.low, test_accuracy_high=accuracy.high,
            n_test=accuracy.total, epochs=result.meta.epoch,
            val_accuracy=last.val_accuracy if last else None, train_loss=last.train_loss if last else None,
            checkpoint_last=str(result.last) if result.last else None, checkpoint_best=str(result.best) if result.best else None,
        )
        print(f"test accuracy {accuracy}")
        if data.task == "segmentation":
            scores = ConfusionMatrix.from_counts(evaluation.confusion).summary()
            run.set_metrics(**{f"test_{key}": value for key, value in scores.items()})
            print(f"test {format_scores(scores)}")
        print(f"checkpoint {result.last}")
        print(f"run {run.folder}")
    return 0
