"""Retry policy for transient device faults (timeouts, error replies, dropped frames)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypeVar

from osclc.drivers.clock import Clock
from osclc.drivers.errors import TRANSIENT_ERRORS

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` extra tries after the first failure, waiting ``backoff_s`` (s) before each."""

    attempts: int = 0
    backoff_s: float = 0.0

    def __post_init__(self) -> None:
        if self.attempts < 0 or not self.backoff_s >= 0:
            raise ValueError(f"retry: attempts must be >= 0 and backoff_s >= 0, got {self.attempts}, {self.backoff_s}")

    def call(self, fn: Callable[[], T], clock: Clock, on_retry: Callable[[Exception], None] | None = None) -> T:
        """Run ``fn``; retry it on a transient fault up to ``attempts`` times, then re-raise the last fault."""
        for attempt in range(self.attempts + 1):
            try:
                return fn()
            except TRANSIENT_ERRORS as exc:
                if attempt == self.attempts:
                    raise
                if on_retry is not None:
                    on_retry(exc)
                clock.sleep(self.backoff_s)
        raise AssertionError("unreachable")  # pragma: no cover


NO_RETRY = RetryPolicy()
