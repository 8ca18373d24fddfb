"""A simulated Coherent OBIS laser that answers its serial command set on a pseudo-terminal.

:class:`SimulatedObis` opens a pty pair (``os.openpty``) and serves the "obis" command set of
:mod:`osclc.drivers.vendors.scpi_commands` from a background thread on the master side; the unchanged
serial driver opens the slave side by its port name (:attr:`SimulatedObis.port`, e.g. ``/dev/pts/7``),
exactly as it would open ``/dev/ttyUSB0`` or ``COM3``. POSIX only (Linux, macOS).

Replies follow OBIS handshaking: a setting is answered ``OK`` or ``ERR-<code>``, a query by its value
line then ``OK``; lines end with CR LF. The laser state is public for tests (:attr:`emitting`,
:attr:`power_w`, :attr:`interlock_open`, :attr:`fault_word`), and :meth:`inject` makes it misbehave
like a real one: no reply (timeouts), garbled replies, error replies, an interlock that opens
(emission drops, status bit 26 set), or a disconnect (the pty closes under the driver).
"""

from __future__ import annotations

import enum
import os
import select
import threading
import tty

from osclc.drivers.vendors.scpi_commands import OBIS_STATUS_FAULT_BIT, OBIS_STATUS_INTERLOCK_OPEN_BIT

OBIS_STATUS_EMISSION_BIT = 1
POLL_S = 0.02
"""How often (s) the serving thread checks for a stop request."""


class ObisFault(enum.Enum):
    """What :meth:`SimulatedObis.inject` can make the laser do."""

    NO_REPLY = "no reply"
    GARBLED = "garbled reply"
    ERROR_REPLY = "error reply"


class SimulatedObis:
    """An OBIS laser of ``max_power_mw`` (mW) rating on a pseudo-terminal; use as a context manager.

    ``identity`` is its ``*IDN?`` answer. The serving thread starts on construction.
    """

    def __init__(self, max_power_mw: float = 100.0, identity: str = "Coherent, Inc - OBIS 488nm 100mW LX (simulated) - V1.0") -> None:
        if not max_power_mw > 0:
            raise ValueError(f"simulated OBIS: max_power_mw must be > 0 mW, got {max_power_mw!r}")
        self.max_power_w = float(max_power_mw) / 1000.0
        self.identity = identity
        self.emission_setting = False
        self.power_w = 0.0
        self.interlock_open = False
        self.fault_word = 0
        self.commands: list[str] = []
        self._fault: ObisFault | None = None
        self._fault_command: str | None = None
        self._error_code = 0
        self._fault_times: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.connected = True
        self._thread = threading.Thread(target=self._serve, name=f"sim-obis {self.port}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ state and faults

    @property
    def emitting(self) -> bool:
        """True when light comes out: emission on and interlock closed (a pulled cable does not stop it)."""
        with self._lock:
            return self.emission_setting and not self.interlock_open

    def status_word(self) -> int:
        """The ``SYST:STAT?`` word: bit 0 fault, bit 1 emission, bit 26 interlock open."""
        with self._lock:
            emitting = self.emission_setting and not self.interlock_open
            return ((self.fault_word != 0) << OBIS_STATUS_FAULT_BIT) | (emitting << OBIS_STATUS_EMISSION_BIT) | (
                self.interlock_open << OBIS_STATUS_INTERLOCK_OPEN_BIT)

    def inject(self, fault: ObisFault | None, command: str | None = None, times: int | None = None,
               error_code: int = 101) -> None:
        """Misbehave from now on: ``fault`` on every command, or only on ``command`` (exact text), for the
        next ``times`` matching commands (None = until cleared); ``error_code`` is what ERROR_REPLY
        answers (``ERR-<code>``). ``inject(None)`` clears the fault."""
        with self._lock:
            self._fault, self._fault_command, self._error_code = fault, command, int(error_code)
            self._fault_times = times

    def open_interlock(self) -> None:
        """Open the safety interlock: emission stops at once and stays off (as the laser latches it off)."""
        with self._lock:
            self.interlock_open = True
            self.emission_setting = False

    def close_interlock(self) -> None:
        """Close the safety interlock (emission stays off until turned on again)."""
        with self._lock:
            self.interlock_open = False

    def disconnect(self) -> None:
        """Pull the cable: the pty closes under the driver, which then sees the port fail."""
        self.close()

    def close(self) -> None:
        """Stop serving and close the pty (idempotent)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
        with self._lock:
            if self.connected:
                self.connected = False
                os.close(self._master)
                os.close(self._slave)

    def __enter__(self) -> "SimulatedObis":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ serving

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], POLL_S)
                if not ready:
                    continue
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            buffer += chunk
            *lines, buffer = buffer.replace(b"\r", b"\n").split(b"\n")
            for line in lines:
                command = line.decode("ascii", errors="replace").strip()
                if command:
                    reply = self._reply(command)
                    if reply:
                        try:
                            os.write(self._master, reply)
                        except OSError:
                            return

    def _reply(self, command: str) -> bytes:
        """The bytes the laser sends back for one command line (faults applied)."""
        with self._lock:
            self.commands.append(command)
            fault = self._fault if self._fault_command in (None, command) else None
            if fault is not None and self._fault_times is not None:
                self._fault_times -= 1
                if self._fault_times <= 0:
                    self._fault = None
            code = self._error_code
        if fault is ObisFault.NO_REPLY:
            return b""
        if fault is ObisFault.GARBLED:
            return b"\x8f\xfe#?S\xa0OU\r\n"
        if fault is ObisFault.ERROR_REPLY:
            return f"ERR-{code}\r\n".encode()
        return "".join(f"{line}\r\n" for line in self._execute(command)).encode("ascii")

    def _execute(self, command: str) -> list[str]:
        """The reply lines of a healthy OBIS to ``command``."""
        head, _, argument = command.partition(" ")
        head, argument = head.upper(), argument.strip().upper()
        if head == "*IDN?":
            return [self.identity, "OK"]
        if head == "SOUR:AM:STAT" and argument in ("ON", "OFF"):
            with self._lock:
                self.emission_setting = argument == "ON" and not self.interlock_open
            return ["OK"]
        if head == "SOUR:AM:STAT?":
            with self._lock:
                return ["ON" if self.emission_setting else "OFF", "OK"]
        if head == "SOUR:POW:LEV:IMM:AMPL" and argument:
            try:
                watts = float(argument)
            except ValueError:
                return ["ERR-101"]
            if not 0.0 <= watts <= self.max_power_w:
                return ["ERR-102"]
            with self._lock:
                self.power_w = watts
            return ["OK"]
        if head == "SOUR:POW:LEV:IMM:AMPL?":
            with self._lock:
                return [f"{self.power_w:.5f}", "OK"]
        if head == "SOUR:POW:LEV?":
            with self._lock:
                return [f"{self.power_w if self.emission_setting and not self.interlock_open else 0.0:.5f}", "OK"]
        if head == "SYST:STAT?":
            return [f"{self.status_word():08X}", "OK"]
        if head == "SYST:FAULT?":
            with self._lock:
                return [f"{self.fault_word:08X}", "OK"]
        return ["ERR-100"]
