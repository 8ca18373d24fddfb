"""Clocks of a bench: ``RealClock`` waits for real (loop measurements), ``VirtualClock`` only counts (fast tests).

Every timestamp in the drivers is integer nanoseconds from ``clock.now_ns()``; on a real clock that
is ``time.perf_counter_ns()``, so frames and host-side stage stamps are directly comparable.

Waits are abortable: :meth:`Clock.abort` (called when an interrupt arrives or the bench is being made
safe) makes every wait on the clock, in any thread, end at once with
:class:`~osclc.drivers.errors.CallAborted` until :meth:`Clock.resume`. A worker thread sleeping through
a long exposure therefore stops within milliseconds instead of outliving the bench.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod

from osclc.drivers.errors import CallAborted


class Clock(ABC):
    """Source of monotonic nanosecond timestamps and of abortable waits (seconds)."""

    kind: str = ""

    def __init__(self) -> None:
        self._aborted = threading.Event()

    @abstractmethod
    def now_ns(self) -> int:
        """Monotonic time now (ns)."""

    @abstractmethod
    def _wait(self, seconds: float) -> None:
        """Wait ``seconds`` (s, > 0) unless aborted first."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (s); non-positive waits return at once; CallAborted while the clock is aborted."""
        self._check()
        if seconds > 0:
            self._wait(seconds)
            self._check()

    def sleep_until_ns(self, t_ns: int) -> None:
        """Wait until ``now_ns() >= t_ns``."""
        remaining = t_ns - self.now_ns()
        while remaining > 0:
            self.sleep(remaining * 1e-9)
            remaining = t_ns - self.now_ns()

    def abort(self) -> None:
        """End every wait on this clock at once (CallAborted), now and until :meth:`resume`."""
        self._aborted.set()

    def resume(self) -> None:
        """Let waits run again after :meth:`abort`."""
        self._aborted.clear()

    def _check(self) -> None:
        if self._aborted.is_set():
            raise CallAborted("the wait was cut short: the bench is being made safe after an interrupt or an error")


class RealClock(Clock):
    """Wall clock: ``time.perf_counter_ns`` and real (abortable) waiting."""

    kind = "real"

    def now_ns(self) -> int:
        return time.perf_counter_ns()

    def _wait(self, seconds: float) -> None:
        self._aborted.wait(seconds)


class VirtualClock(Clock):
    """Simulated clock: starts at ``perf_counter_ns()`` and advances only when something sleeps (thread-safe)."""

    kind = "virtual"

    def __init__(self, start_ns: int | None = None) -> None:
        super().__init__()
        self._t_ns = time.perf_counter_ns() if start_ns is None else int(start_ns)
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._t_ns

    def _wait(self, seconds: float) -> None:
        with self._lock:
            self._t_ns += int(round(seconds * 1e9))


def make_clock(kind: str) -> Clock:
    """``"real"`` -> :class:`RealClock`, ``"virtual"`` -> :class:`VirtualClock`; anything else is a ValueError."""
    if kind == "real":
        return RealClock()
    if kind == "virtual":
        return VirtualClock()
    raise ValueError(f"clock: unknown clock {kind!r}; use 'real' or 'virtual'")
