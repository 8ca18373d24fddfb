"""Killing a save at a chosen point: the save runs in a forked child whose profiler counts every Python and C
call and return (``sys.setprofile``) and sends itself SIGKILL just before event number ``at``.

Deterministic (no timing): the same save makes the same sequence of events, so a first run lists them and
each later run dies at one of them, leaving the files exactly as a kill at that point would.
"""

from __future__ import annotations

import gc
import json
import os
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

CHILD_TIMEOUT_S = 120.0
CHANGING_CODE = ("/osclc/", "/shutil.py", "/pathlib.py")
"""Where the file-system changes that are kill points are made: the package (its storage code, and any save that
bypassed it), and the pathlib and shutil calls it makes."""
CHANGES = frozenset({"open", "write", "mkdir", "replace", "rename", "unlink", "rmdir"})
"""Calls that change what is on disk (``open`` creates the temporary files)."""


@dataclass(frozen=True)
class Event:
    """One profiler event of the save: its kind, the function, and the file of the code that made it."""

    kind: str
    function: str
    file: str


def _child(save: Callable[[], object], at: int | None, listing: Path | None) -> None:
    events: list[tuple[str, str, str]] = []
    count = 0

    def profiler(frame, kind, arg):
        nonlocal count
        if count == at:
            os.kill(os.getpid(), signal.SIGKILL)
        count += 1
        if listing is not None:
            name = getattr(arg, "__name__", "?") if kind.startswith("c_") else frame.f_code.co_name
            events.append((kind, name, frame.f_code.co_filename))

    # The garbage collector runs when allocation counts cross thresholds, and those counts depend on what the
    # parent did before forking: a collection inside the save would add finalizer events and shift the numbering.
    gc.collect()
    gc.disable()
    sys.setprofile(profiler)
    try:
        save()
    finally:
        sys.setprofile(None)
    if listing is not None:
        listing.write_text(json.dumps(events))


def _fork(save: Callable[[], object], at: int | None, listing: Path | None) -> int:
    """Run ``save`` in a forked child; returns its wait status."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            _child(save, at, listing)
        except BaseException:
            traceback.print_exc()
            code = 3
        os._exit(code)
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"the save did not finish within {CHILD_TIMEOUT_S} s")
        time.sleep(0.005)


class KillHarness:
    """List the events of a save, and run it again killed at each chosen one."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch

    def events(self, save: Callable[[], object]) -> list[Event]:
        """Every profiler event the save makes, in order (the save runs to completion in a child)."""
        listing = self.scratch / "events.json"
        status = _fork(save, None, listing)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"the save failed in the child (status {status})"
        return [Event(*e) for e in json.loads(listing.read_text())]

    def kill(self, save: Callable[[], object], at: int) -> None:
        """Run the save in a child that SIGKILLs itself before event ``at``."""
        status = _fork(save, at, None)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"not killed at event {at} (status {status})"

    @staticmethod
    def points(events: list[Event], extra: int = 8, seed: int = 0) -> list[int]:
        """Kill points: just before every change the package makes to the file system (create, write, rename,
        swap, remove: each distinct state the files pass through) and after the last event, plus
        ``extra`` others drawn with a fixed seed (e.g. while the contents are being encoded)."""
        changes = [
            i for i, e in enumerate(events)
            if any(part in e.file.replace("\\", "/") for part in CHANGING_CODE)
            and ((e.kind == "c_call" and e.function in CHANGES) or (e.kind == "call" and e.function == "_exchange"))
        ]
        drawn = random.Random(seed).sample(range(len(events)), min(extra, len(events)))
        return sorted(set(changes) | set(drawn) | {len(events) - 1})

    def every_point(
        self, prepare: Callable[[], object], save: Callable[[], object], check: Callable[[int], None], extra: int = 8
    ) -> int:
        """``prepare()`` (save the old version), then kill ``save()`` (the new one) at each of :meth:`points` and
        ``check(at)`` what is left; ends with ``prepare()`` again. Returns the number of kill points.

        ``prepare`` runs twice first, so the parent's caches are as warm for the listing as for every kill.
        """
        prepare()
        prepare()
        points = self.points(self.events(save), extra)
        for at in points:
            prepare()
            self.kill(save, at)
            check(at)
        prepare()
        return len(points)


@pytest.fixture
def kill_harness(tmp_path) -> KillHarness:
    """A :class:`KillHarness` that keeps its scratch files in the test's temporary folder."""
    scratch = tmp_path / "kill-harness"
    scratch.mkdir()
    return KillHarness(scratch)
