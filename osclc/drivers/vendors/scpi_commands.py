"""The command sets of the supported lasers, in one place.

Each command set knows the strings a laser model understands and how to read its replies;
the drivers (:mod:`osclc.drivers.vendors.scpi_laser` over :mod:`~osclc.drivers.vendors.visa_laser` or
:mod:`~osclc.drivers.vendors.serial_laser`) never spell a command themselves. The interface works in
milliwatts; both supported models take watts on the wire, converted here
(:meth:`LaserCommandSet.power_command`, :meth:`LaserCommandSet.parse_power_mw`) and nowhere else.

Supported models:

* ``"scpi"``: a generic SCPI laser-diode controller (the Thorlabs ITC4000 / CLD1000 family
  spells it this way): ``*IDN?``, ``SOUR:POW:LEV:IMM:AMPL <W>`` / ``SOUR:POW:LEV:IMM:AMPL?``,
  ``OUTP:STAT 1|0`` / ``OUTP:STAT?``, ``OUTP:PROT:INTL:TRIP?`` (1 = interlock open) and the
  SCPI error queue ``SYST:ERR?`` (``<code>,"<message>"``, code 0 = no error), read after every
  setting.
* ``"obis"``: Coherent OBIS LX/LS (handshaking on, the factory default): every command is
  acknowledged by a line ``OK``, every query by its value line then ``OK``; a refused command
  is answered by ``ERR-<code>`` instead. ``SOUR:AM:STAT ON|OFF``, ``SOUR:POW:LEV:IMM:AMPL <W>``,
  ``SOUR:POW:LEV:IMM:AMPL?`` (setpoint, W), ``SYST:STAT?`` (hex status word: bit 0 fault, bit 1
  emission, bit 26 interlock open), ``SYST:FAULT?`` (hex fault word, 0 = no fault).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Protocol

MW_PER_W = 1000.0
"""Milliwatts per watt: the only unit conversion between the interface (mW) and the wire (W)."""


class ReplyError(ValueError):
    """A reply that does not parse (garbled line); the driver turns it into a DeviceProtocolError naming the laser."""


class CommandRefused(Exception):
    """The laser answered a command with an error (code and text as the laser reported them)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"error {code}: {text}")
        self.code = code
        self.text = text


class LineLink(Protocol):
    """A line-oriented link to an instrument (the drivers' VISA or serial transport)."""

    def write_line(self, text: str) -> None:
        """Send one command line (the link adds the termination)."""

    def read_line(self) -> str:
        """Receive one reply line without its termination; raises DeviceTimeout when none comes."""


MAX_QUEUED_ERRORS = 32
"""Most error-queue entries read by one status query (bounds the loop should a device never say "no error")."""


@dataclass(frozen=True)
class LaserCommandSet:
    """Generic SCPI laser controller: commands, reply parsing and the dialogue rules.

    Subclasses change class attributes and override the methods of what differs.
    """

    name: ClassVar[str] = "scpi"
    termination: ClassVar[str] = "\n"
    """Line ending of commands and replies."""

    identity_query: ClassVar[str] = "*IDN?"
    power_setpoint: ClassVar[str] = "SOUR:POW:LEV:IMM:AMPL {watts:.6f}"
    power_query: ClassVar[str] = "SOUR:POW:LEV:IMM:AMPL?"
    emission_setting: ClassVar[str] = "OUTP:STAT {state}"
    emission_query: ClassVar[str] = "OUTP:STAT?"
    emission_tokens: ClassVar[tuple[str, str]] = ("1", "0")
    """What the laser says for emission (on, off)."""
    interlock_query: ClassVar[str] = "OUTP:PROT:INTL:TRIP?"
    error_query: ClassVar[str] = "SYST:ERR?"

    def power_command(self, power_mw: float) -> str:
        """The setting that asks for ``power_mw`` milliwatts (sent in watts)."""
        return self.power_setpoint.format(watts=power_mw / MW_PER_W)

    def parse_power_mw(self, reply: str) -> float:
        """Power in milliwatts from a power reply (watts on the wire)."""
        return _parse_float(reply, "a power in W") * MW_PER_W

    def emission_command(self, on: bool) -> str:
        """The setting that turns emission on or off."""
        return self.emission_setting.format(state=self.emission_tokens[0 if on else 1])

    def parse_emission(self, reply: str) -> bool:
        """Emission state from the emission query's reply."""
        token = reply.strip().upper()
        if token not in self.emission_tokens:
            raise ReplyError(f"expected one of {self.emission_tokens}, got {reply!r}")
        return token == self.emission_tokens[0]

    def parse_interlock_closed(self, reply: str) -> bool:
        """True when the interlock is closed (emission allowed), from the interlock query's reply."""
        return _parse_int(reply, "0 or 1 (interlock tripped)") == 0

    def parse_error(self, reply: str) -> CommandRefused | None:
        """The error an error-queue reply reports, or None for ``0,"No error"``."""
        match = re.fullmatch(r'\s*([+-]?\d+)\s*,\s*"?(.*?)"?\s*', reply)
        if match is None:
            raise ReplyError(f'expected <code>,"<message>" from the error queue, got {reply!r}')
        code = int(match.group(1))
        return None if code == 0 else CommandRefused(code, match.group(2))

    def query(self, link: LineLink, command: str) -> str:
        """Send a query and return its reply line."""
        link.write_line(command)
        return link.read_line()

    def setting(self, link: LineLink, command: str) -> None:
        """Send a setting, then read the error queue; raises CommandRefused if the laser refused it."""
        link.write_line(command)
        self._refuse_on_error(self.query(link, self.error_query))

    def _refuse_on_error(self, reply: str) -> str:
        """``reply`` as it is, unless :meth:`parse_error` finds an error in it: then that CommandRefused is raised."""
        error = self.parse_error(reply)
        if error is not None:
            raise error
        return reply

    def faults(self, link: LineLink) -> list[str]:
        """Pending faults: the entries left in the error queue (reading empties it)."""
        found = []
        for _ in range(MAX_QUEUED_ERRORS):
            error = self.parse_error(self.query(link, self.error_query))
            if error is None:
                break
            found.append(str(error))
        return found


OBIS_ERRORS = {
    100: "unrecognised command or query",
    101: "invalid command",
    102: "parameter value out of range",
}
"""OBIS inline error codes the driver names; others are reported by number (see the OBIS manual)."""

OBIS_STATUS_FAULT_BIT = 0
OBIS_STATUS_INTERLOCK_OPEN_BIT = 26


@dataclass(frozen=True)
class ObisCommandSet(LaserCommandSet):
    """Coherent OBIS LX/LS over its serial (or USB virtual COM) port, handshaking on."""

    name: ClassVar[str] = "obis"
    termination: ClassVar[str] = "\r\n"

    emission_setting: ClassVar[str] = "SOUR:AM:STAT {state}"
    emission_query: ClassVar[str] = "SOUR:AM:STAT?"
    emission_tokens: ClassVar[tuple[str, str]] = ("ON", "OFF")
    interlock_query: ClassVar[str] = "SYST:STAT?"
    fault_query: ClassVar[str] = "SYST:FAULT?"

    def parse_interlock_closed(self, reply: str) -> bool:
        """True when bit 26 (interlock open) of the ``SYST:STAT?`` status word is clear."""
        return not (_parse_hex(reply, "a hex status word") >> OBIS_STATUS_INTERLOCK_OPEN_BIT) & 1

    def parse_error(self, reply: str) -> CommandRefused | None:
        """The inline error ``ERR-<code>`` a reply line carries, or None for any other line."""
        match = re.fullmatch(r"\s*ERR-(\d+)\s*", reply)
        if match is None:
            return None
        code = int(match.group(1))
        return CommandRefused(code, OBIS_ERRORS.get(code, f"OBIS error code {code} (see the OBIS manual)"))

    def query(self, link: LineLink, command: str) -> str:
        """Send a query; return its value line after checking the ``OK`` that follows it."""
        link.write_line(command)
        value = self._refuse_on_error(link.read_line())
        self._expect_ok(link.read_line(), command)
        return value

    def setting(self, link: LineLink, command: str) -> None:
        """Send a setting and check its acknowledgement (``OK``, or ``ERR-<code>`` raised as CommandRefused)."""
        link.write_line(command)
        self._expect_ok(self._refuse_on_error(link.read_line()), command)

    def faults(self, link: LineLink) -> list[str]:
        """The set bits of the ``SYST:FAULT?`` hex word, e.g. ``["fault bit 5 (word 0x00000020)"]``."""
        word = _parse_hex(self.query(link, self.fault_query), "a hex fault word")
        return [f"fault bit {bit} (word 0x{word:08X})" for bit in range(32) if (word >> bit) & 1]

    @staticmethod
    def _expect_ok(reply: str, command: str) -> None:
        if reply.strip() != "OK":
            raise ReplyError(f"expected OK after {command!r}, got {reply!r}")


COMMAND_SETS: dict[str, LaserCommandSet] = {cs.name: cs for cs in (LaserCommandSet(), ObisCommandSet())}
"""Command set by name (the ``protocol`` key of a laser config)."""


def command_set(name: str) -> LaserCommandSet:
    """The command set called ``name``; ValueError naming the known ones otherwise."""
    try:
        return COMMAND_SETS[name]
    except KeyError:
        raise ValueError(f"laser protocol {name!r} is not known; use one of {sorted(COMMAND_SETS)}") from None


def _parse_float(reply: str, expected: str) -> float:
    try:
        value = float(reply.strip())
    except ValueError:
        raise ReplyError(f"expected {expected}, got {reply!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ReplyError(f"expected {expected}, got {reply!r}")
    return value


def _parse_int(reply: str, expected: str) -> int:
    try:
        return int(reply.strip())
    except ValueError:
        raise ReplyError(f"expected {expected}, got {reply!r}") from None


def _parse_hex(reply: str, expected: str) -> int:
    try:
        return int(reply.strip(), 16)
    except ValueError:
        raise ReplyError(f"expected {expected}, got {reply!r}") from None
