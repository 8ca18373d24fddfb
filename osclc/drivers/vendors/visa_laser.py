"""Laser over VISA (pyvisa): a SCPI laser controller on USB-TMC, LAN, GPIB or a VISA serial port.

The simulated twin is the pyvisa-sim instrument shipped in the package (``osclc/drivers/sim/laser.yaml``):
``VisaLaser(..., visa_library="laser.yaml@sim", resource="TCPIP0::laser.sim::INSTR")`` runs this
unchanged driver against it. Every read has the configured timeout; a timeout, a lost connection
or a refused command raises an error naming the laser.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

import pyvisa
from pyvisa import constants
from pyvisa.errors import InvalidSession, VisaIOError
from pyvisa.highlevel import VisaLibraryBase
from pyvisa.resources import MessageBasedResource, SerialInstrument

from osclc.drivers.clock import Clock
from osclc.drivers.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from osclc.drivers.retry import RetryPolicy
from osclc.drivers.vendors.scpi_commands import ReplyError, command_set
from osclc.drivers.vendors.scpi_laser import ScpiLaser

T = TypeVar("T")
SIM_SUFFIX = "@sim"
_LOST = {constants.StatusCode.error_connection_lost, constants.StatusCode.error_invalid_object,
         constants.StatusCode.error_resource_not_found}


def resolve_visa_library(spec: str) -> str:
    """The pyvisa library string for ``spec``.

    ``""`` is the system VISA, ``"@py"`` pyvisa-py, ``"@sim"`` pyvisa-sim's own default file,
    ``"PATH@sim"`` a pyvisa-sim YAML file; a bare file name that does not exist in the working
    directory (``"laser.yaml@sim"``) is looked up among the simulated instruments shipped in
    ``osclc.drivers.sim``.
    """
    if spec.endswith(SIM_SUFFIX) and len(spec) > len(SIM_SUFFIX):
        path = Path(spec[: -len(SIM_SUFFIX)])
        if not path.exists() and path.name == str(path):
            shipped = resources.files("osclc.drivers.sim") / path.name
            if not shipped.is_file():
                raise FileNotFoundError(
                    f"visa_library {spec!r}: no file {path} here nor among the shipped simulated instruments "
                    f"({', '.join(sorted(p.name for p in resources.files('osclc.drivers.sim').iterdir() if p.name.endswith('.yaml')))})")
            return f"{shipped}{SIM_SUFFIX}"
        if not path.is_file():
            raise FileNotFoundError(f"visa_library {spec!r}: the pyvisa-sim file {path} does not exist")
    return spec


class VisaLink:
    """One open VISA resource as a line link; every failure names the laser (``label``)."""

    def __init__(self, label: str, name: str, resource: pyvisa.resources.MessageBasedResource) -> None:
        self.label = label
        self.name = name
        self.resource = resource
        self.last_sent = ""

    def write_line(self, text: str) -> None:
        """Send ``text`` (the resource adds the termination)."""
        self._call(f"send {text!r}", lambda: self.resource.write(text))
        self.last_sent = text

    def read_line(self) -> str:
        """One reply line; DeviceTimeout after the resource timeout, ReplyError when not ASCII."""
        try:
            return self._call(f"read the reply to {self.last_sent!r}", self.resource.read)
        except UnicodeDecodeError as exc:
            raise ReplyError(f"reply is not ASCII text ({exc.reason} at byte {exc.start})") from None

    def close(self) -> None:
        """Close the resource (not the resource manager, which other instruments may share)."""
        try:
            self.resource.close()
        except (VisaIOError, InvalidSession):
            pass

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except InvalidSession:
            raise DeviceDisconnected(
                f"{self.label}: the VISA session is gone (cannot {action}); the laser may still be emitting: "
                "switch it off at the laser", self.name) from None
        except VisaIOError as exc:
            timeout_ms = self.resource.timeout
            if exc.error_code == constants.StatusCode.error_timeout:
                raise DeviceTimeout(f"{self.label}: no reply within {timeout_ms} ms (trying to {action})", self.name) from None
            if exc.error_code in _LOST:
                raise DeviceDisconnected(
                    f"{self.label}: connection lost (trying to {action}): {exc.description}; the laser may still be "
                    "emitting: switch it off at the laser", self.name) from None
            raise DeviceError(f"{self.label}: VISA error trying to {action}: {exc}", self.name) from None


class VisaLaser(ScpiLaser):
    """A laser on VISA ``resource`` (e.g. ``"USB0::0x1313::0x804F::M00123456::INSTR"``).

    ``visa_library`` (a spec, see :func:`resolve_visa_library`, or a library object), ``protocol`` (a command set name,
    ``"scpi"`` or ``"obis"``), ``timeout_s`` (s) for every reply, ``baud_rate`` (baud, serial
    resources only), ``expect_identity`` a substring the identity must contain.
    """

    def __init__(
        self,
        name: str,
        max_power_mw: float,
        resource: str,
        visa_library: str | VisaLibraryBase = "",
        protocol: str = "scpi",
        timeout_s: float = 1.0,
        baud_rate: int | None = None,
        expect_identity: str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        commands = command_set(protocol)
        label = f"laser {name!r}"
        library = visa_library if isinstance(visa_library, VisaLibraryBase) else resolve_visa_library(visa_library)
        manager = pyvisa.ResourceManager(library)
        try:
            handle = manager.open_resource(resource, open_timeout=int(timeout_s * 1000))
        except (VisaIOError, ValueError) as exc:
            library_name = (visa_library if isinstance(visa_library, str) else visa_library.library_path) or "default"
            raise DeviceError(
                f"{label}: cannot open VISA resource {resource!r} with library {library_name!r}: {exc}; "
                f"resources found: {', '.join(manager.list_resources()) or 'none'}", name) from None
        if not isinstance(handle, MessageBasedResource):
            handle.close()
            raise DeviceError(f"{label}: VISA resource {resource!r} is a {type(handle).__name__}, not a message-based instrument; "
                              "give the laser controller's INSTR, SOCKET or ASRL resource", name)
        handle.timeout = int(round(timeout_s * 1000))
        handle.write_termination = commands.termination
        handle.read_termination = commands.termination
        if baud_rate is not None and isinstance(handle, SerialInstrument):
            handle.baud_rate = int(baud_rate)
        super().__init__(name, max_power_mw, VisaLink(label, name, handle), commands, expect_identity, clock, retry)
