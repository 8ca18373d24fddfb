"""Errors raised by device drivers; every message names the device it concerns.

``DeviceError`` and its subclasses are runtime failures of an instrument (the CLI exits 1);
``InvalidSetting`` is bad input refused before anything reaches the hardware (a ``ValueError``,
the CLI exits 2).
"""

from __future__ import annotations


class DeviceError(RuntimeError):
    """An instrument failed; ``device`` is its name (also in the message)."""

    def __init__(self, message: str, device: str | None = None) -> None:
        super().__init__(message)
        self.device = device


class DeviceTimeout(DeviceError, TimeoutError):
    """A blocking call did not complete within its timeout."""


class DeviceDisconnected(DeviceError):
    """The instrument went away (cable, power, driver); nothing more can be done with it until reopened."""


class DeviceProtocolError(DeviceError):
    """The instrument answered with an error or a garbled reply (a transient fault: may be retried)."""


class FrameDropped(DeviceError):
    """A camera frame was lost between the sensor and the host (a transient fault: may be retried)."""


class InterlockOpen(DeviceError):
    """The laser safety interlock is open: emission is impossible until it is closed."""


class CallAborted(DeviceError):
    """A wait on the bench clock was cut short because the bench is being made safe (an interrupt or an error)."""


class InvalidSetting(ValueError):
    """A value refused before reaching a device (wrong shape, dtype, range, NaN, power over the limit)."""


TRANSIENT_ERRORS: tuple[type[DeviceError], ...] = (DeviceTimeout, DeviceProtocolError, FrameDropped)
"""Faults a retry policy may retry; disconnects and an open interlock are never retried."""
