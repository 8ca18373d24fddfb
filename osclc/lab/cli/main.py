"""The ``osclc`` command: one entry point, a subcommand per job, a run record for every job.

Exit paths, each one line on stderr naming the command (``--debug`` shows the traceback instead):

- bad input (configs, checkpoints, datasets, kernels): the field and the fix, exit 2;
- a device or runtime error, and any unexpected exception: its type and message and where the full
  traceback was saved (``traceback.txt`` in the command's run folder, or a temporary file when the
  command made no run), exit 1;
- SIGINT, SIGTERM, SIGHUP or SIGQUIT (Ctrl-C, kill, a closed terminal or dropped ssh): the run is
  recorded as aborted, exit 130.

Every bench the command opened reports how it was left (:mod:`osclc.drivers.safety.safe_state`):
"the bench was left safe" is printed only when every device's safe step succeeded; each device that
failed is named with its error, whatever else happened.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from osclc import __version__
from osclc.drivers.safety.safe_state import SafeStateReport, listening
from osclc.drivers.safety.signals import SignalGuard
from osclc.lab.cli import COMMANDS
from osclc.lab.config.out_of_memory import out_of_memory_as_bad_input
from osclc.lab.runs import RunRecordError, read_run, runs_created, save_traceback

EXIT_BAD_INPUT = 2
EXIT_RUNTIME = 1
EXIT_INTERRUPTED = 130
BAD_INPUT = (ValueError, FileNotFoundError, LookupError)
RUNTIME = (RuntimeError, TimeoutError, OSError)


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


def _say(line: str) -> None:
    """Print ``line`` on stderr; a terminal already gone (SIGHUP) is not an error."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _command(args: argparse.Namespace) -> str:
    """``osclc <command> [<action>]`` as typed, e.g. ``osclc bench check``."""
    words = [args.command] + ([args.action] if isinstance(getattr(args, "action", None), str) else [])
    return "osclc " + " ".join(words)


def _bench_lines(command: str, reports: list[SafeStateReport]) -> tuple[str, list[str]]:
    """The bench clause of the one-line summary, and one line per device that was not left safe."""
    if not reports:
        return "", []
    failed = [f"{command}: BENCH {r.bench!r} NOT LEFT SAFE: {problem}; check it by hand (switch the laser off at the laser)"
              for r in reports for problem in r.problems()]
    return ("" if failed else "; the bench was left safe (laser off, input and SLM blanked, camera stopped)"), failed


def _run_clause(runs: list[Path]) -> str:
    if not runs:
        return ""
    try:
        status = read_run(runs[-1]).manifest["status"]
    except RunRecordError:
        status = "unreadable"
    return f"; run {runs[-1]} recorded as {status}"


def _save_traceback(command: str, runs: list[Path], exc: BaseException) -> str:
    """Save the full traceback in the newest run of the command (else a temporary file); returns where."""
    text = "".join(traceback.format_exception(exc))
    if runs:
        try:
            return str(save_traceback(runs[-1], text))
        except (OSError, ValueError):
            pass  # the run folder is gone or broken: fall back to a temporary file
    try:
        with tempfile.NamedTemporaryFile("w", prefix=f"{command.replace(' ', '-')}-", suffix="-traceback.txt",
                                         delete=False, encoding="utf-8") as handle:
            handle.write(text)
        return handle.name
    except OSError as error:
        return f"nowhere ({error})"


def _report(command: str, exc: BaseException, reports: list[SafeStateReport], runs: list[Path]) -> int:
    """Print the summary of a command that raised ``exc``; returns its exit code."""
    bench, failed = _bench_lines(command, reports)
    if isinstance(exc, KeyboardInterrupt):
        cause = str(exc) or "Ctrl-C"
        _say(f"{command}: interrupted ({cause}){_run_clause(runs)}{bench}")
        code = EXIT_INTERRUPTED
    elif isinstance(exc, BAD_INPUT):
        _say(f"{command}: error: {exc}{bench}")
        code = EXIT_BAD_INPUT
    else:
        where = _save_traceback(command, runs, exc)
        kind = "" if isinstance(exc, RUNTIME) else "unexpected "
        _say(f"{command}: {kind}{type(exc).__name__}: {exc} (full traceback: {where}; --debug prints it){bench}")
        code = EXIT_RUNTIME
    for line in failed:
        _say(line)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``osclc`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command = _command(args)
    reports: list[SafeStateReport] = []
    first_run = len(runs_created())
    with SignalGuard() as guard, listening(reports.append):
        try:
            with out_of_memory_as_bad_input():
                result = args.func(args)
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - every error ends as one line; --debug re-raises it
            if args.debug:
                raise
            with guard.shielded():
                return _report(command, exc, reports, runs_created()[first_run:])
        with guard.shielded():
            failed = _bench_lines(command, reports)[1]
            for line in failed:
                _say(line)
    return EXIT_RUNTIME if failed else int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
