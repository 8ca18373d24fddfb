"""``osclc experiment TASK --dataset SPEC --seeds N``: the paper's tables for one task, mean +- 95 % CI over seeds.

Each task is a module listed in :data:`TASKS` that provides ``HELP``, ``DEFAULT_DATASET``,
``METRIC`` (the figure's name, e.g. ``accuracy``), ``add_arguments(parser)`` and
``run(args, run, seeds, device) -> (list[VariantResult], extra dict)``. This command adds the
shared options, creates the run, and writes ``results.json`` / ``results.md`` / ``results.png``
(:mod:`osclc.lab.experiments.results`). Adding a task is one line in :data:`TASKS`.
"""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType

from osclc.lab.experiments.results import write_results
from osclc.lab.runs import Run
from osclc.models.torch_device import select_device

TASKS: dict[str, str] = {
    "classification": "osclc.lab.experiments.classification",
    "segmentation": "osclc.lab.experiments.segmentation",
}
"""Task name -> module implementing it."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``osclc experiment <task>`` for every task in :data:`TASKS`."""
    parser = sub.add_parser("experiment", help="reproduce the paper's tables on a dataset, over several seeds")
    tasks = parser.add_subparsers(dest="task", metavar="TASK")
    tasks.required = True
    for name, module_name in TASKS.items():
        module = importlib.import_module(module_name)
        task = tasks.add_parser(name, help=module.HELP)
        task.add_argument("--dataset", default=module.DEFAULT_DATASET, help=f"dataset spec (default {module.DEFAULT_DATASET})")
        task.add_argument("--seeds", type=int, default=3, help="number of training seeds 0..N-1 (default 3)")
        task.add_argument("--epochs", type=int, help="override the configs' epochs (keep runs short)")
        task.add_argument("--no-progress", action="store_true", help="no progress bar")
        module.add_arguments(task)
        task.set_defaults(func=lambda args, module=module: run_experiment(module, args))


def run_experiment(module: ModuleType, args: argparse.Namespace) -> int:
    """Create the run, let the task train its variants, write the results."""
    if args.seeds < 1:
        raise ValueError(f"--seeds {args.seeds}: must be >= 1")
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs {args.epochs}: must be >= 1")
    device = select_device(args.device)
    seeds = list(range(args.seeds))
    config = {k: v for k, v in vars(args).items() if k != "func"}
    with Run.create(f"experiment-{args.task}", config=config, device=str(device), root=args.runs_dir) as run:
        results, extra = module.run(args, run, seeds, device)
        title = f"{args.task} on {extra.get('dataset', args.dataset)} ({len(seeds)} seed(s))"
        note = (
            f"`osclc experiment {args.task} --dataset {args.dataset} --seeds {args.seeds}`: test {module.METRIC} "
            "per variant, mean ± 95 % Student-t interval over seeds."
        )
        table = write_results(run, results, module.METRIC, title, note, extra)
        if hasattr(module, "write_tables"):  # a task with several figures per variant writes its own results.md
            table = module.write_tables(run, results, extra, title, note)
        print(table)
        print(f"run {run.folder}")
    return 0
