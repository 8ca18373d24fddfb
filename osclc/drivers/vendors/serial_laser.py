"""Laser on a serial port (pyserial): a Coherent OBIS by default, any command set of
:mod:`osclc.drivers.vendors.scpi_commands` by ``protocol``.

The port is opened with ``serial.serial_for_url``, so it may be a device (``/dev/ttyUSB0``,
``COM3``), a pseudo-terminal (the simulated OBIS of :mod:`osclc.drivers.sim.obis`) or a pyserial URL
(``socket://host:port``, ``rfc2217://...``). Every read and write has the configured timeout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import serial

from osclc.drivers.clock import Clock
from osclc.drivers.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from osclc.drivers.retry import RetryPolicy
from osclc.drivers.vendors.scpi_commands import ReplyError, command_set
from osclc.drivers.vendors.scpi_laser import ScpiLaser

T = TypeVar("T")
PORT_ERRORS: tuple[type[Exception], ...] = (serial.SerialException, OSError)
"""What pyserial raises when the port fails (unplugged adapter, closed pseudo-terminal)."""
if sys.platform != "win32":  # POSIX ports raise termios.error (not an OSError) when the device disappears
    import termios

    PORT_ERRORS += (termios.error,)


class SerialLink:
    """An open serial port as a line link with ``termination``; every failure names the laser (``label``)."""

    def __init__(self, label: str, name: str, port: serial.SerialBase, termination: str) -> None:
        self.label = label
        self.name = name
        self.port = port
        self.termination = termination.encode("ascii")
        self.last_sent = ""

    def write_line(self, text: str) -> None:
        """Drop stale input (a late reply to an earlier command), then send ``text`` and the termination."""
        def send() -> None:
            self.port.reset_input_buffer()
            self.port.write(text.encode("ascii") + self.termination)
            self.port.flush()

        self._call(f"send {text!r}", send)
        self.last_sent = text

    def read_line(self) -> str:
        """One reply line without its CR/LF; DeviceTimeout when none completes within the port timeout."""
        data = self._call(f"read the reply to {self.last_sent!r}", lambda: self.port.read_until(b"\n"))
        if not data.endswith(b"\n"):
            got = f" (got only {data!r})" if data else ""
            raise DeviceTimeout(f"{self.label}: no reply to {self.last_sent!r} within {self.port.timeout} s on "
                                f"{self.port.name}{got}", self.name)
        try:
            return data.rstrip(b"\r\n").decode("ascii")
        except UnicodeDecodeError as exc:
            raise ReplyError(f"reply {data!r} is not ASCII text ({exc.reason} at byte {exc.start})") from None

    def close(self) -> None:
        """Close the port (idempotent)."""
        try:
            self.port.close()
        except PORT_ERRORS:
            pass

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except serial.SerialTimeoutException:
            raise DeviceTimeout(f"{self.label}: writing to {self.port.name} timed out after {self.port.write_timeout} s "
                                f"(trying to {action})", self.name) from None
        except PORT_ERRORS as exc:
            raise DeviceDisconnected(
                f"{self.label}: serial port {self.port.name} failed (trying to {action}): {exc}; the laser may still "
                "be emitting: switch it off at the laser", self.name) from None


class SerialLaser(ScpiLaser):
    """A laser on serial ``port`` (device path or pyserial URL) at ``baud_rate`` (baud).

    ``protocol`` names the command set (``"obis"`` by default), ``timeout_s`` (s) bounds every
    read and write, ``expect_identity`` is a substring the identity must contain.
    """

    def __init__(
        self,
        name: str,
        max_power_mw: float,
        port: str,
        baud_rate: int = 115200,
        protocol: str = "obis",
        timeout_s: float = 1.0,
        expect_identity: str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        commands = command_set(protocol)
        label = f"laser {name!r}"
        try:
            handle = serial.serial_for_url(port, baudrate=int(baud_rate), timeout=timeout_s, write_timeout=timeout_s)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceError(f"{label}: cannot open serial port {port!r}: {exc}; check the port name and that no "
                              "other program holds it", name) from None
        super().__init__(name, max_power_mw, SerialLink(label, name, handle, commands.termination), commands,
                         expect_identity, clock, retry)
