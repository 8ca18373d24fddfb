"""``osclc finetune --bench CONFIG --program DIR --dataset SPEC``: the finetune job (:mod:`osclc.lab.jobs.finetune`,
the electronic backend retrained on captured features) from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from osclc.lab.config.files import load_config
from osclc.lab.jobs.context import JobContext
from osclc.lab.jobs.finetune import FinetuneOptions, finetune_program
from osclc.lab.loop.config import LoopConfig
from osclc.models.torch_device import select_device


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``finetune`` command."""
    p = sub.add_parser(
        "finetune",
        help="hardware-in-the-loop fine-tuning: capture the dataset through the bench, retrain the backend, save it with the program",
    )
    p.add_argument("--bench", required=True, help="bench config YAML (kind: bench)")
    p.add_argument("--program", required=True, help="optical program folder; the new backend is saved into it")
    p.add_argument("--dataset", required=True, help="dataset spec, e.g. digits")
    p.add_argument("--student", default=None, help="student checkpoint: starting backend when the program stores none, "
                   "digital accuracy, and the per-channel gain/offset fit")
    p.add_argument("--loop", default=None, help="loop config YAML (kind: loop); default: the built-in defaults")
    p.add_argument("--epochs", type=int, default=100, help="full-batch epochs of backend training (default 100)")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default 1e-2)")
    p.add_argument("--limit", type=int, default=None, help="at most N images of the train and val splits (the test split is whole)")
    p.add_argument("--seed", type=int, default=0, help="dataset split and training seed (default 0)")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Handler of ``osclc finetune``."""
    options = FinetuneOptions(
        bench=load_config(args.bench, kind="bench"), program=Path(args.program), dataset=args.dataset,
        loop=load_config(args.loop, kind="loop") if args.loop else LoopConfig(),
        student=Path(args.student) if args.student else None, epochs=args.epochs, lr=args.lr, seed=args.seed, limit=args.limit,
    )
    report = finetune_program(options, JobContext(device=select_device(args.device), runs_dir=args.runs_dir))
    digital = f"digital student {100 * report.digital:.2f} %, " if report.digital is not None else ""
    recovered = f" (recovered {100 * report.recovered:.0f} % of the accuracy the bench lost)" if report.recovered is not None else ""
    print(f"test accuracy: {digital}optical before {100 * report.before:.2f} %, after {100 * report.after:.2f} %{recovered}")
    print(f"backend saved to {report.backend_path}")
    print(f"run {report.folder}")
    return 0
