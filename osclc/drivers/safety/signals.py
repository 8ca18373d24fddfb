"""Interrupting signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT all become :class:`Interrupted`, deferred during cleanup.

Python's defaults differ: SIGINT raises KeyboardInterrupt, but SIGTERM and SIGHUP (terminal closed, ssh
dropped) end the process at once and SIGQUIT dumps core, with no cleanup at all, so a laser would stay on.
While a :class:`SignalGuard` is entered (in the main thread; Python delivers signals only there) each of
them raises :class:`Interrupted` naming the signal, after calling ``on_signal`` (the bench uses it to cut
short every wait on its clock, so worker threads stop at once). Inside :meth:`SignalGuard.shielded` (the
cleanup) they are recorded instead, so a second Ctrl-C cannot abort the cleanup; the caller decides what
to do with them once the cleanup has ended.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

INTERRUPT_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name))
"""The signals that interrupt a command (SIGHUP and SIGQUIT do not exist on Windows)."""

Handler = Callable[[int, FrameType | None], object] | int | None


class Interrupted(KeyboardInterrupt):
    """An interrupting signal arrived; ``signum`` is its number, the message ``"signal SIGHUP"``."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signal.Signals(signum).name}")
        self.signum = int(signum)

    def __reduce__(self) -> tuple[type, tuple[int]]:
        return (Interrupted, (self.signum,))


class SignalGuard:
    """Context manager: while entered, every :data:`INTERRUPT_SIGNALS` calls ``on_signal(signum)`` and raises
    :class:`Interrupted` (or is deferred inside :meth:`shielded`); the previous handlers come back on exit.

    Outside the main thread it installs nothing (signals cannot be handled there) and only :meth:`shielded` works.
    """

    def __init__(self, on_signal: Callable[[int], None] | None = None) -> None:
        self.on_signal = on_signal
        self.deferred: list[int] = []
        self._shield_depth = 0
        self._previous: dict[int, Handler] = {}

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():
            for signum in INTERRUPT_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    @contextlib.contextmanager
    def shielded(self) -> Iterator[list[int]]:
        """Defer interrupting signals during the block; yields the list they are added to (signal numbers)."""
        self._shield_depth += 1
        try:
            yield self.deferred
        finally:
            self._shield_depth -= 1

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._shield_depth:
            self.deferred.append(signum)
            return
        if self.on_signal is not None:
            self.on_signal(signum)
        raise Interrupted(signum)


def describe(signums: list[int]) -> str:
    """``"SIGINT, SIGHUP"`` for the deferred signal numbers ``signums``."""
    return ", ".join(signal.Signals(s).name for s in signums)
