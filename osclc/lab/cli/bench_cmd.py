"""``osclc bench check CONFIG``: the bench check job (:mod:`osclc.lab.jobs.bench_check`: open a bench, show each device's
identity and state, take test frames and judge them; exit 1 naming the cause when one check fails) from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from osclc.lab.config.files import load_config
from osclc.lab.jobs.bench_check import BenchCheckOptions, check_bench
from osclc.lab.jobs.context import JobContext


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``bench`` command and its ``check`` subcommand."""
    parser = sub.add_parser("bench", help="check a bench: open it, show its devices, take a test frame")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    check = actions.add_parser("check", help="open the bench, print each device's identity and state, save a test frame as PNG in a run")
    check.add_argument("config", help="bench config (YAML, kind: bench), e.g. configs/bench-sim-realistic.yaml")
    check.add_argument("--timeout-s", type=float, default=None, help="capture timeout (s); default: the config's timeout_s")
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.config, kind="bench")
    options = BenchCheckOptions(bench=config, timeout_s=args.timeout_s, bench_file=Path(args.config))
    result = check_bench(options, JobContext(runs_dir=args.runs_dir, say=print))
    m = result.metrics
    print(f"test frame {result.frame_index}: shape {result.frame_shape}, counts {m['frame_min']:g} .. {m['frame_max']:g} "
          f"(mean {m['frame_mean']:.4g}, saturated {m['saturated_fraction']:.2%}); bench closed safely")
    marginal = [f for f in result.figures if f.verdict != "pass"]
    print("checks: all passed" if not marginal else "checks: passed, marginal: " + "; ".join(f.describe() for f in marginal))
    print(f"run: {result.folder}")
    return 0
