"""Holding SIGINT / SIGTERM while a short write must not be cut in half (a database transaction, a status
update): the signal is delivered, through the handler that was installed before, as soon as the block ends."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Union

Handler = Union[Callable[[int, Union[FrameType, None]], object], int, signal.Handlers, None]  # noqa: UP007 (a runtime alias)
"""A signal handler as :func:`signal.signal` returns it."""

HELD = (signal.SIGINT, signal.SIGTERM)
"""The signals :func:`deferred_signals` holds by default."""


@dataclass
class Held:
    """The signals that arrived while held, in order (each is delivered once when the block ends)."""

    received: list[int] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        """True when a held signal waits to be delivered."""
        return bool(self.received)


@contextmanager
def deferred_signals(signums: tuple[int, ...] = HELD) -> Iterator[Held]:
    """Hold ``signums`` while the block runs, then restore the previous handlers and deliver what arrived.

    Python runs signal handlers in the main thread only, so in any other thread this holds nothing.
    A held SIGINT therefore raises :class:`KeyboardInterrupt` right after the block, not inside it.
    """
    held = Held()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous: dict[int, Handler] = {}

    def hold(signum: int, frame: FrameType | None) -> None:
        held.received.append(signum)

    try:
        for signum in signums:
            previous[signum] = signal.signal(signum, hold)
        yield held
    finally:
        for signum, handler in previous.items():
            if handler is not None:  # None: a handler installed outside Python, which Python cannot restore
                signal.signal(signum, handler)
        for signum in dict.fromkeys(held.received):
            signal.raise_signal(signum)
