"""What every device interface shares: a name, a clock, a retry policy and an open/closed state.

:meth:`Device.close` is the same for every device: leave it safe (``_make_safe``: blank, stop, emission
off; best effort), mark it closed, release it (``_close_hw``); a second call does nothing.
"""

from __future__ import annotations

import math
from typing import Callable, TypeVar

from osclc.drivers.clock import Clock, RealClock
from osclc.drivers.errors import DeviceDisconnected, InvalidSetting
from osclc.drivers.retry import NO_RETRY, RetryPolicy

T = TypeVar("T")


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

        return self.retry.call(fn, self.clock, on_retry=count)

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

    def close(self) -> None:
        """Leave the device safe (best effort, see :meth:`_make_safe`) and release it; calling it again does nothing."""
        if self.closed:
            return
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
