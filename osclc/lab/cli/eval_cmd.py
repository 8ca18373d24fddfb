"""``osclc eval CHECKPOINT [--dataset SPEC]``: accuracy with its 95 % interval and a confusion-matrix plot."""

from __future__ import annotations

import argparse

from osclc.lab.runs import Run
from osclc.lab.plots.training import plot_confusion
from osclc.models.training.checkpoints import checkpoint_folder, load_checkpoint, read_meta
from osclc.models.data.spec import load_dataset
from osclc.models.torch_device import select_device
from osclc.models.training.evaluation import evaluate_classifier
from osclc.models.training.segmentation_metrics import ConfusionMatrix, format_scores

SPLITS = ("test", "val", "train")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``osclc eval``."""
    parser = sub.add_parser("eval", help="accuracy (95 %% Wilson interval) and confusion matrix of a checkpoint")
    parser.add_argument("checkpoint", help="checkpoint folder (e.g. runs/<id>/checkpoints/best)")
    parser.add_argument("--dataset", help="dataset spec (default: the one the checkpoint was trained on)")
    parser.add_argument("--split", choices=SPLITS, default="test", help="which split to evaluate (default: test)")
    parser.add_argument("--batch-size", type=int, default=256, help="images per forward pass")
    parser.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    """Handler of ``osclc eval``."""
    if args.batch_size < 1:
        raise ValueError(f"--batch-size {args.batch_size}: must be >= 1")
    folder = checkpoint_folder(args.checkpoint)
    meta = read_meta(folder)
    spec = args.dataset or meta.dataset
    if not spec:
        raise ValueError(f"{folder}: the checkpoint names no dataset; give --dataset")
    saved = meta.train_config or {}
    data = load_dataset(
        spec, meta.image_size, meta.in_channels, int(saved.get("split_seed", 0)), float(saved.get("val_fraction", 0.1))
    )
    device = select_device(args.device)
    model, meta = load_checkpoint(folder, device, num_classes=data.num_classes)
    config = {"checkpoint": str(folder), "dataset": spec, "split": args.split, "batch_size": args.batch_size}
    with Run.create("eval", config=config, device=str(device), root=args.runs_dir, inputs={"model": folder}) as run:
        evaluation = evaluate_classifier(model, getattr(data, args.split), data.num_classes, device, args.batch_size)
        accuracy = evaluation.accuracy
        run.save_array("confusion", evaluation.confusion)
        title = f"{meta.arch.variant} on {spec} ({args.split})"
        plot_confusion(evaluation.confusion, data.class_names, run.path("confusion.png"), title)
        run.set_metrics(
            accuracy=accuracy.value, accuracy_low=accuracy.low, accuracy_high=accuracy.high, correct=accuracy.correct,
            n=accuracy.total, split=args.split, dataset=spec,
        )
        print(f"{title}: accuracy {accuracy}")
        if data.task == "segmentation":
            scores = ConfusionMatrix.from_counts(evaluation.confusion).summary()
            run.set_metrics(**scores)
            print(f"{title}: {format_scores(scores)}")
        print(f"run {run.folder}")
    return 0
