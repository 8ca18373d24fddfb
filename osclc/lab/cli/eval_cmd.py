"""``osclc eval CHECKPOINT [--dataset SPEC]``: the eval job (:mod:`osclc.lab.jobs.evaluate`) from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from osclc.lab.jobs.context import JobContext
from osclc.lab.jobs.evaluate import SPLITS, EvalOptions, evaluate_checkpoint
from osclc.models.torch_device import select_device
from osclc.models.training.segmentation_metrics import format_scores


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
    options = EvalOptions(checkpoint=Path(args.checkpoint), dataset=args.dataset, split=args.split, batch_size=args.batch_size)
    result = evaluate_checkpoint(options, JobContext(device=select_device(args.device), runs_dir=args.runs_dir))
    print(f"{result.title}: accuracy {result.accuracy}")
    if result.scores is not None:
        print(f"{result.title}: {format_scores(result.scores)}")
    print(f"run {result.folder}")
    return 0
