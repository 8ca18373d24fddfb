"""Bench backends ``laser.backend: visa`` and ``laser.backend: serial`` (registered on import).

Common laser fields come from the bench config's ``laser`` section (``resource``, ``baudrate``,
``timeout_s``, ``max_power_mw``); backend-specific ones from ``laser.options``, validated here:

``visa`` options
    ``visa_library``: pyvisa library ("" = system VISA, "@py" = pyvisa-py, "laser.yaml@sim" = the
    simulated SCPI laser shipped in ``osclc.drivers.sim``, "PATH@sim" = any pyvisa-sim file);
    ``protocol``: command set, "scpi" (default) or "obis"; ``expect_identity``: a substring the
    ``*IDN?`` reply must contain (guards against the wrong instrument); ``sim_state``: with a pyvisa-sim
    library only, a file holding the simulated instrument's state, so that several processes (the bench,
    its safety supervisor, a test) share one simulated laser (:mod:`osclc.drivers.sim.visa_shared`).
    A laser on a real VISA library, or on a shared simulated one, gets a safety supervisor.
``serial`` options
    ``protocol``: "obis" (default) or "scpi"; ``expect_identity`` as above; ``simulator``: "obis"
    starts a :class:`~osclc.drivers.sim.obis.SimulatedObis` on a pseudo-terminal and connects the
    unchanged serial driver to it (``resource`` is then ignored; the simulator stops with the laser).
    A laser on a port (not the in-process simulator) gets a safety supervisor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pyvisa.highlevel import VisaLibraryBase

from osclc.drivers.backends import BenchShared, register_backend
from osclc.drivers.bench_config import LaserConfig
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.vendors.serial_laser import SerialLaser
from osclc.drivers.vendors.visa_laser import SIM_SUFFIX, VisaLaser, resolve_visa_library

if TYPE_CHECKING:  # the simulator needs a POSIX pseudo-terminal: imported only when a config asks for it
    from osclc.drivers.sim.obis import SimulatedObis


class VisaOptions(BaseModel):
    """``laser.options`` of the visa backend."""

    model_config = ConfigDict(extra="forbid")

    visa_library: str = Field("", description="pyvisa library: '' system VISA, '@py', 'laser.yaml@sim' (shipped simulator), 'PATH@sim'")
    protocol: Literal["scpi", "obis"] = Field("scpi", description="command set of osclc.drivers.vendors.scpi_commands")
    expect_identity: str | None = Field(None, description="substring the identity reply must contain (None = any)")
    sim_state: str | None = Field(None, description="pyvisa-sim only: file of the simulated laser's state, shared by "
                                  "every process that opens it (None = state in this process)")


class SerialOptions(BaseModel):
    """``laser.options`` of the serial backend."""

    model_config = ConfigDict(extra="forbid")

    protocol: Literal["obis", "scpi"] = Field("obis", description="command set of osclc.drivers.vendors.scpi_commands")
    expect_identity: str | None = Field(None, description="substring the identity reply must contain (None = any)")
    simulator: Literal["obis"] | None = Field(None, description="'obis': run a simulated OBIS on a pseudo-terminal instead of resource")


def parse_options(model: type[BaseModel], options: Mapping[str, Any], backend: str) -> Any:
    """``options`` validated by ``model``; InvalidSetting naming ``laser.options.<field>`` otherwise."""
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        allowed = ", ".join(model.model_fields)
        raise InvalidSetting(f"laser.options.{where}: {first['msg']} (backend {backend!r} takes: {allowed})") from None


class SimulatedSerialLaser(SerialLaser):
    """The unchanged serial driver connected to a :class:`SimulatedObis` it owns (stopped on close; its light
    ends with this process, so it needs no safety supervisor)."""

    outlives_process = False

    def __init__(self, simulator: SimulatedObis, **kwargs: Any) -> None:
        self.simulator = simulator
        try:
            super().__init__(port=simulator.port, **kwargs)
        except BaseException:
            simulator.close()
            raise

    def _close_hw(self) -> None:
        try:
            super()._close_hw()
        finally:
            self.simulator.close()


@register_backend("laser", "visa")
def open_visa_laser(config: LaserConfig, shared: BenchShared) -> VisaLaser:
    """A SCPI laser over VISA as the config says."""
    options = parse_options(VisaOptions, config.options, "visa")
    if not config.resource:
        raise InvalidSetting("laser.resource: empty; give the VISA resource string, e.g. 'USB0::0x1313::0x804F::M00123456::INSTR' "
                             "(or 'TCPIP0::laser.sim::INSTR' with options.visa_library 'laser.yaml@sim')")
    simulated = options.visa_library.endswith(SIM_SUFFIX)
    library: str | VisaLibraryBase = options.visa_library
    if options.sim_state is not None:
        if not simulated:
            raise InvalidSetting(f"laser.options.sim_state: only for a simulated instrument (visa_library 'NAME{SIM_SUFFIX}'), "
                                 f"not {options.visa_library!r}; remove sim_state")
        from osclc.drivers.sim.visa_shared import shared_sim_library

        library = shared_sim_library(resolve_visa_library(options.visa_library), options.sim_state)
    laser = VisaLaser("visa laser", config.max_power_mw, config.resource, library, options.protocol,
                      config.timeout_s, config.baudrate, options.expect_identity, shared.clock, shared.retry)
    laser.outlives_process = not simulated or options.sim_state is not None
    return laser


@register_backend("laser", "serial")
def open_serial_laser(config: LaserConfig, shared: BenchShared) -> SerialLaser:
    """A laser on a serial port (or a simulated OBIS on a pseudo-terminal) as the config says."""
    options = parse_options(SerialOptions, config.options, "serial")
    common = dict(name="serial laser", max_power_mw=config.max_power_mw, baud_rate=config.baudrate,
                  protocol=options.protocol, timeout_s=config.timeout_s, expect_identity=options.expect_identity,
                  clock=shared.clock, retry=shared.retry)
    if options.simulator == "obis":
        if options.protocol != "obis":
            raise InvalidSetting(f"laser.options.protocol: the simulated OBIS speaks 'obis', not {options.protocol!r}")
        from osclc.drivers.sim.obis import SimulatedObis

        return SimulatedSerialLaser(SimulatedObis(), **common)
    if not config.resource:
        raise InvalidSetting("laser.resource: empty; give the serial port, e.g. '/dev/ttyUSB0' or 'COM3' "
                             "(or set laser.options.simulator: obis for the simulated OBIS)")
    return SerialLaser(port=config.resource, **common)
