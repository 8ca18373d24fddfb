"""A :class:`~osclc.drivers.laser.Laser` that speaks a command set of :mod:`osclc.drivers.vendors.scpi_commands`
over any line link (VISA in :mod:`~osclc.drivers.vendors.visa_laser`, a serial port in
:mod:`~osclc.drivers.vendors.serial_laser`).

The link raises :class:`~osclc.drivers.errors.DeviceTimeout` / ``DeviceDisconnected`` naming the
laser; this class turns refused commands and garbled replies into
:class:`~osclc.drivers.errors.DeviceProtocolError` (retried when the bench config asks for it).
Opening checks the identity (optionally against ``expect_identity``) and turns emission off, so a
bench always starts dark.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from osclc.drivers.clock import Clock
from osclc.drivers.errors import DeviceError, DeviceProtocolError
from osclc.drivers.laser import Laser, LaserStatus
from osclc.drivers.retry import RetryPolicy
from osclc.drivers.vendors.scpi_commands import CommandRefused, LaserCommandSet, LineLink, ReplyError

T = TypeVar("T")


class ClosableLink(LineLink, Protocol):
    """A :class:`~osclc.drivers.vendors.scpi_commands.LineLink` that can also be closed."""

    def close(self) -> None:
        """Release the link (idempotent)."""


class ScpiLaser(Laser):
    """Laser ``name`` driven through ``link`` with ``commands``; power refused above ``max_power_mw`` (mW)."""

    def __init__(
        self,
        name: str,
        max_power_mw: float,
        link: ClosableLink,
        commands: LaserCommandSet,
        expect_identity: str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.link = link
        self.commands = commands
        try:
            super().__init__(name, max_power_mw, clock, retry)
            found = self.identity()
            if not found:
                raise DeviceError(f"{self._label()}: empty reply to the identity query; check the port/resource", self.name)
            if expect_identity is not None and expect_identity.lower() not in found.lower():
                raise DeviceError(
                    f"{self._label()}: identifies as {found!r}, which does not contain the expected {expect_identity!r}; "
                    "check the port/resource or the bench config's expect_identity", self.name)
            self.set_emission(False)
        except BaseException:
            self.closed = True
            link.close()
            raise

    def _identity_hw(self) -> str:
        return self._talk("read its identity", lambda: self.commands.query(self.link, self.commands.identity_query).strip())

    def _set_power_hw(self, mw: float) -> None:
        self._talk(f"set the power to {mw:g} mW", lambda: self.commands.setting(self.link, self.commands.power_command(mw)))

    def _power_hw(self) -> float:
        return self._talk("read the power", lambda: self.commands.parse_power_mw(
            self.commands.query(self.link, self.commands.power_query)))

    def _set_emission_hw(self, on: bool) -> None:
        self._talk(f"turn emission {'on' if on else 'off'}",
                   lambda: self.commands.setting(self.link, self.commands.emission_command(on)))

    def _status_hw(self) -> LaserStatus:
        def read() -> LaserStatus:
            cs, link = self.commands, self.link
            return LaserStatus(
                emission=cs.parse_emission(cs.query(link, cs.emission_query)),
                power_mw=cs.parse_power_mw(cs.query(link, cs.power_query)),
                interlock_closed=cs.parse_interlock_closed(cs.query(link, cs.interlock_query)),
                faults=cs.faults(link),
            )

        return self._talk("read its status", read)

    def _close_hw(self) -> None:
        self.link.close()

    def _talk(self, action: str, exchange: Callable[[], T]) -> T:
        """Run one command exchange; refused commands and garbled replies become DeviceProtocolError."""
        try:
            return exchange()
        except CommandRefused as exc:
            raise DeviceProtocolError(f"{self._label()}: refused to {action}: {exc}", self.name) from exc
        except ReplyError as exc:
            raise DeviceProtocolError(f"{self._label()}: garbled reply when trying to {action}: {exc}", self.name) from exc
