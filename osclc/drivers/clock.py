"""Clocks of a bench: ``RealClock`` waits for real (loop measurements), ``VirtualClock`` only counts (fast tests).

Every timestamp in the drivers is integer nanoseconds from ``clock.now_ns()``; on a real clock that
is ``time.perf_counter_ns()``, so frames and host-side stage stamps are directly comparable.

Waits are abortable: :meth:`Clock.abort` (called when an interrupt arrives or the bench is being made
safe) makes every wait on the clock, in any thread, end at once with
:class:`~osclc.drivers.errors.CallAborted` until :meth:`Clock.resume`. A worker thread sleeping through
a long exposure therefore stops within milliseconds instead of outliving the bench.

Device time vs simulation compute: a simulated device runs its computation inside the device time it
models (:meth:`Clock.overlap`): the operation ends ``seconds`` of device time after it started, and its
stamps say so. The computation is charged to the clock's "simulation compute" account
(:attr:`Clock.compute_ns`); on a real clock, the part of it that outlasted the device time and so
lengthened the wall time is charged to :attr:`Clock.overrun_ns`. Wall time minus overrun is the time
the bench itself would have taken.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from typing import Callable, TypeVar

from osclc.drivers.errors import CallAborted

T = TypeVar("T")


class Clock(ABC):
    """Source of monotonic nanosecond timestamps and of abortable waits (seconds)."""

    kind: str = ""
    counts_compute: bool = False
    """True when host computation advances :meth:`now_ns` (a real clock); False when only waits do."""

    def __init__(self) -> None:
        self._aborted = threading.Event()
        self._account_lock = threading.Lock()
        self._compute_ns = 0
        self._overrun_ns = 0

    @property
    def compute_ns(self) -> int:
        """Simulation compute charged so far (ns of host time, :meth:`overlap`)."""
        with self._account_lock:
            return self._compute_ns

    @property
    def overrun_ns(self) -> int:
        """The part of :attr:`compute_ns` that outlasted the device times it ran in and lengthened this clock (ns)."""
        with self._account_lock:
            return self._overrun_ns

    def overlap(self, seconds: float, compute: Callable[[], T], start_ns: int | None = None) -> tuple[T, int]:
        """Run a simulator's ``compute`` inside ``seconds`` (s, >= 0) of device time that starts now, or at
        ``start_ns`` (ns, not later than now: an operation a hardware trigger already started).

        Returns ``(compute's result, end)``, ``end`` (ns) being the start plus ``seconds``: the device's own
        timestamp of the operation's end. The clock then reads at least ``end``; ``compute``'s host time goes to
        :attr:`compute_ns` and, on a clock that counts compute, what it ran past ``end`` to :attr:`overrun_ns`.
        """
        start = self.now_ns() if start_ns is None else min(int(start_ns), self.now_ns())
        host = time.perf_counter_ns()
        result = compute()
        spent = time.perf_counter_ns() - host
        end = start + int(round(seconds * 1e9))
        late = self.now_ns() - end
        with self._account_lock:
            self._compute_ns += spent
            self._overrun_ns += min(spent, late) if self.counts_compute and late > 0 else 0
        self.sleep_until_ns(end)
        return result, end

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

    def send_and_settle(self, send: Callable[[], object], seconds: float, simulated: bool) -> int:
        """Call ``send`` (a device hook), then let ``seconds`` (s) of device time pass; returns the settled time (ns).

        A real device starts settling once it has the data, so the wait follows ``send``; a simulated device's
        ``send`` is the simulator's computation, which runs inside the settle time (:meth:`overlap`).
        """
        if simulated:
            return self.overlap(seconds, send)[1]
        send()
        self.sleep(seconds)
        return self.now_ns()

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
    counts_compute = True

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
