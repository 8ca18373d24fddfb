"""The ``osclc`` command: one entry point, a subcommand per job, a run record for every job.

Errors from bad input (configs, checkpoints, datasets, kernels) print one message naming the field
and exit with code 2; device and runtime errors exit with 1; Ctrl-C exits with 130. ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from osclc import __version__
from osclc.lab.cli import COMMANDS
from osclc.lab.config.out_of_memory import out_of_memory_as_bad_input

EXIT_BAD_INPUT = 2
EXIT_RUNTIME = 1
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="osclc",
        description="Optical SCLC lab framework: train, calibrate, compile and run CNNs on a 4f correlator.",
    )
    parser.add_argument("--version", action="version", version=f"osclc {__version__}")
    parser.add_argument("--runs-dir", default=None, help="folder of run records (default: $OSCLC_RUNS_DIR or ./runs)")
    parser.add_argument("--device", default="auto", help="torch device: auto (CUDA if present), cpu, cuda, cuda:N")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``osclc`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with out_of_memory_as_bad_input():
            result = args.func(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("osclc: interrupted; the run is recorded as aborted and the bench was left safe", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, FileNotFoundError, LookupError) as exc:
        if args.debug:
            raise
        print(f"osclc: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (RuntimeError, TimeoutError, OSError) as exc:
        if args.debug:
            raise
        print(f"osclc: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
