"""What every device interface shares: a name, a clock, a retry policy and an open/closed state."""

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

    def _check_number(self, field: str, value: float, lo: float, hi: float, unit: str) -> float:
        """``value`` as a float in [lo, hi], else :class:`InvalidSetting` naming the device, field and range."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidSetting(f"{self._label()}: {field} must be a number in [{lo:g}, {hi:g}] {unit}, got {value!r}") from None
        if not math.isfinite(number) or not lo <= number <= hi:
            raise InvalidSetting(f"{self._label()}: {field} must be in [{lo:g}, {hi:g}] {unit}, got {value!r}")
        return number
