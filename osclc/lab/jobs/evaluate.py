"""The eval job: a checkpoint's accuracy (Wilson 95 % interval) and confusion matrix on one split, recorded in a run.

Used by ``osclc eval``; :func:`record_confusion` also by the train job. The run (command ``eval``)
holds the accuracy, ``confusion.npy`` and ``confusion.png``; for segmentation also pixel accuracy,
mean IoU and Dice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from osclc.lab.jobs.context import DEFAULT_CONTEXT, JobContext
from osclc.lab.plots.training import plot_confusion
from osclc.lab.runs import Run
from osclc.models.data.spec import load_dataset
from osclc.models.training.checkpoints import checkpoint_folder, load_checkpoint, read_meta
from osclc.models.training.evaluation import Accuracy, Evaluation, evaluate_classifier
from osclc.models.training.segmentation_metrics import ConfusionMatrix

SPLITS = ("test", "val", "train")


@dataclass(frozen=True)
class EvalOptions:
    """Which checkpoint on which data.

    - ``checkpoint``: a checkpoint folder (e.g. ``runs/<id>/checkpoints/best``);
    - ``dataset``: dataset spec (None: the one the checkpoint was trained on, with its split seed and validation fraction);
    - ``split``: ``test``, ``val`` or ``train``;
    - ``batch_size``: images per forward pass (>= 1).
    """

    checkpoint: Path
    dataset: str | None = None
    split: Literal["test", "val", "train"] = "test"
    batch_size: int = 256

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"--batch-size {self.batch_size}: must be >= 1")
        if self.split not in SPLITS:
            raise ValueError(f"split {self.split!r}: choose one of {', '.join(SPLITS)}")


@dataclass(frozen=True)
class EvalResult:
    """The run folder, a title naming model, data and split, the accuracy and (segmentation) the pixel scores (fractions)."""

    folder: Path
    title: str
    accuracy: Accuracy
    scores: dict[str, float] | None


def record_confusion(run: Run, evaluation: Evaluation, class_names: list[str], title: str, task: str) -> dict[str, float] | None:
    """Write ``confusion.npy`` and ``confusion.png`` into ``run``; for a segmentation ``task`` return the pixel scores."""
    run.save_array("confusion", evaluation.confusion)
    plot_confusion(evaluation.confusion, class_names, run.path("confusion.png"), title)
    return ConfusionMatrix.from_counts(evaluation.confusion).summary() if task == "segmentation" else None


def evaluate_checkpoint(options: EvalOptions, context: JobContext = DEFAULT_CONTEXT) -> EvalResult:
    """Evaluate ``options.checkpoint`` on its split; the figures go into an ``eval`` run."""
    folder = checkpoint_folder(options.checkpoint)
    meta = read_meta(folder)
    spec = options.dataset or meta.dataset
    if not spec:
        raise ValueError(f"{folder}: the checkpoint names no dataset; give --dataset")
    saved = meta.train_config or {}
    data = load_dataset(
        spec, meta.image_size, meta.in_channels, int(saved.get("split_seed", 0)), float(saved.get("val_fraction", 0.1))
    )
    model, meta = load_checkpoint(folder, context.device, num_classes=data.num_classes)
    config = {"checkpoint": str(folder), "dataset": spec, "split": options.split, "batch_size": options.batch_size}
    with Run.create("eval", config=config, device=str(context.device), root=context.runs_dir, inputs={"model": folder},
                    argv=context.argv_list) as run:
        evaluation = evaluate_classifier(model, getattr(data, options.split), data.num_classes, context.device, options.batch_size)
        accuracy = evaluation.accuracy
        title = f"{meta.arch.variant} on {spec} ({options.split})"
        scores = record_confusion(run, evaluation, list(data.class_names), title, data.task)
        run.set_metrics(
            accuracy=accuracy.value, accuracy_low=accuracy.low, accuracy_high=accuracy.high, correct=accuracy.correct,
            n=accuracy.total, split=options.split, dataset=spec, **(scores or {}),
        )
    return EvalResult(run.folder, title, accuracy, scores)
