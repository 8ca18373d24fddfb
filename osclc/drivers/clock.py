"""Clocks of a bench: ``RealClock`` waits for real (loop measurements), ``VirtualClock`` only counts (fast tests).

Every timestamp in the drivers is integer nanoseconds from ``clock.now_ns()``; on a real clock that
is ``time.perf_counter_ns()``, so frames and host-side stage stamps are directly comparable.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod


class Clock(ABC):
    """Source of monotonic nanosecond timestamps and of waits (seconds)."""

    kind: str = ""

    @abstractmethod
    def now_ns(self) -> int:
        """Monotonic time now (ns)."""

    @abstractmethod
    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (s); non-positive waits return at once."""

    def sleep_until_ns(self, t_ns: int) -> None:
        """Wait until ``now_ns() >= t_ns``."""
        remaining = t_ns - self.now_ns()
        if remaining > 0:
            self.sleep(remaining * 1e-9)


class RealClock(Clock):
    """Wall clock: ``time.perf_counter_ns`` and real sleeping."""

    kind = "real"

    def now_ns(self) -> int:
        return time.perf_counter_ns()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock(Clock):
    """Simulated clock: starts at ``perf_counter_ns()`` and advances only when something sleeps (thread-safe)."""

    kind = "virtual"

    def __init__(self, start_ns: int | None = None) -> None:
        self._t_ns = time.perf_counter_ns() if start_ns is None else int(start_ns)
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._t_ns

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._t_ns += int(round(seconds * 1e9))


def make_clock(kind: str) -> Clock:
    """``"real"`` -> :class:`RealClock`, ``"virtual"`` -> :class:`VirtualClock`; anything else is a ValueError."""
    if kind == "real":
        return RealClock()
    if kind == "virtual":
        return VirtualClock()
    raise ValueError(f"clock: unknown clock {kind!r}; use 'real' or 'virtual'")
