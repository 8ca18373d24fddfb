"""What every device interface shares: a name, a clock, a retry policy and an open/closed state.

:meth:`Device.close` is the same for every device: leave it safe (``_make_safe``: blank, stop, emission
off; best effort), mark it closed, release it (``_close_hw``); a second call does nothing.

Calls to one device are serialised: a hardware call (``_hw``), :meth:`Device.make_safe` and
:meth:`Device.close` wait for a call another thread is making (a loop worker's capture) to end, at most
:data:`BUSY_WAIT_S`, so the bench is never closed under a call still in progress.
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import Callable, Iterator, TypeVar

from osclc.drivers.clock import Clock, RealClock
from osclc.drivers.errors import DeviceDisconnected, DeviceTimeout, InvalidSetting
from osclc.drivers.retry import NO_RETRY, RetryPolicy

T = TypeVar("T")

BUSY_WAIT_S = 30.0
"""Longest wait (s) for another thread's call to a device to end before a call, the safe state or close gives up."""


class Device:
    """Base of the SLM, InputModulator, Camera and Laser interfaces.

    ``name`` appears in every error message; ``clock`` stamps and waits (real or virtual);
    ``retry`` retries transient faults of the ``_..._hw`` hooks; ``retries`` counts them.
    """

    kind: str = "device"

    def __init__(self, name: str, clock: Clock | None = None, retry: RetryPolicy | None = None) -> None:
        self.name = str(name)
        self.clock: Clock = clock or RealClock()
        self.retry: RetryPolicy = retry or NO_RETRY
        self.retries = 0
        self.closed = False
        self.busy_with: str | None = None
        """The call in progress (its action), or None."""
        self._calls = threading.RLock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}{' closed' if self.closed else ''}>"

    def _label(self) -> str:
        return f"{self.kind} {self.name!r}"

    def _ensure_open(self, action: str) -> None:
        if self.closed:
            raise DeviceDisconnected(f"{self._label()}: cannot {action}: the device is closed; open the bench again", self.name)

    def _hw(self, action: str, fn: Callable[[], T]) -> T:
        """Call a hardware hook with the retry policy (only transient faults are retried)."""
        self._ensure_open(action)

        def count(_: Exception) -> None:
            self.retries += 1

        with self._exclusive(action):
            return self.retry.call(fn, self.clock, on_retry=count)

    @contextlib.contextmanager
    def _exclusive(self, action: str) -> Iterator[None]:
        """Hold the device for ``action``; DeviceTimeout when another thread's call lasts over :data:`BUSY_WAIT_S`."""
        if not self._calls.acquire(timeout=BUSY_WAIT_S):
            raise DeviceTimeout(f"{self._label()}: cannot {action}: still busy with {self.busy_with!r} in another thread "
                                f"after {BUSY_WAIT_S:g} s", self.name)
        previous, self.busy_with = self.busy_with, action
        try:
            yield
        finally:
            self.busy_with = previous
            self._calls.release()

    def _set_number(self, action: str, hook: Callable[[float], object], field: str, value: float,
                    lo: float, hi: float, unit: str) -> float:
        """Check ``value`` like :meth:`_check_number`, send it through ``hook`` with :meth:`_hw`; returns the number sent."""
        number = self._check_number(field, value, lo, hi, unit)
        self._hw(action, lambda: hook(number))
        return number

    def _check_shape(self, field: str, shape: tuple[int, int]) -> tuple[int, int]:
        """``shape`` as (rows, cols) ints >= 1, else :class:`InvalidSetting` naming the device and ``field``."""
        if len(shape) != 2 or min(shape) < 1:
            raise InvalidSetting(f"{self._label()}: {field} must be (rows, cols) >= 1, got {shape!r}")
        return (int(shape[0]), int(shape[1]))

    def _check_bit_depth(self, bit_depth: int) -> int:
        """``bit_depth`` (bits per pixel value) as an int in [1, 16], else :class:`InvalidSetting`."""
        if not 1 <= int(bit_depth) <= 16:
            raise InvalidSetting(f"{self._label()}: bit_depth must be in [1, 16], got {bit_depth!r}")
        return int(bit_depth)

    def _wait(self, seconds: float) -> int:
        """Sleep ``seconds`` (s) on the device clock; returns the time after (ns)."""
        self.clock.sleep(seconds)
        return self.clock.now_ns()

    def wait_idle(self, timeout_s: float = BUSY_WAIT_S) -> bool:
        """Wait (at most ``timeout_s`` seconds) until no other thread is inside a call to this device; True when idle."""
        if not self._calls.acquire(timeout=timeout_s):
            return False
        self._calls.release()
        return True

    def make_safe(self) -> None:
        """Put the open device in its safe state (laser off, SLM / input blank, camera stopped) without closing it."""
        self._ensure_open("be made safe")
        with self._exclusive("be made safe"):
            self._make_safe()

    def close(self) -> None:
        """Leave the device safe (best effort, see :meth:`_make_safe`) and release it; calling it again does nothing."""
        if self.closed:
            return
        with self._exclusive("close"):
            try:
                self._make_safe()
            finally:
                self.closed = True
                self._close_hw()

    def _make_safe(self) -> None:
        """Put the device in its safe state before release (default: nothing to do)."""

    def _close_hw(self) -> None:
        """Release the device (default: nothing to release)."""

    def _check_number(self, field: str, value: float, lo: float, hi: float, unit: str) -> float:
        """``value`` as a float in [lo, hi], else :class:`InvalidSetting` naming the device, field and range."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidSetting(f"{self._label()}: {field} must be a number in [{lo:g}, {hi:g}] {unit}, got {value!r}") from None
        if not math.isfinite(number) or not lo <= number <= hi:
            raise InvalidSetting(f"{self._label()}: {field} must be in [{lo:g}, {hi:g}] {unit}, got {value!r}")
        return number
