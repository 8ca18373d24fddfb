"""``osclc train teacher|student``: the train job (:mod:`osclc.lab.jobs.train`) from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from osclc.lab.config.files import load_config
from osclc.lab.jobs.context import JobContext
from osclc.lab.jobs.train import TrainOptions, train
from osclc.models.torch_device import select_device
from osclc.models.training.config import TrainConfig
from osclc.models.training.segmentation_metrics import format_scores


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


def run_train(args: argparse.Namespace) -> int:
    """Handler of ``osclc train``."""
    config = load_config(args.config, kind="train") if args.config else None
    assert config is None or isinstance(config, TrainConfig)
    options = TrainOptions(role=args.role, config=config, resume=args.resume,
                           teacher=Path(args.teacher) if args.teacher else None, epochs=args.epochs)
    context = JobContext(device=select_device(args.device), runs_dir=args.runs_dir, say=tqdm.write, progress=not args.no_progress)
    result = train(options, context)
    if result.folder is None:  # another torchrun process writes the run
        return 0
    print(f"test accuracy {result.accuracy}")
    if result.scores is not None:
        print(f"test {format_scores(result.scores)}")
    print(f"checkpoint {result.last}")
    print(f"run {result.folder}")
    return 0
