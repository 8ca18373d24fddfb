"""A plain simulated laser (state in Python; the protocol-level simulated lasers are the VISA / serial backends)."""

from __future__ import annotations

from osclc.drivers.backends import BenchShared, register_backend
from osclc.drivers.bench_config import FaultsConfig, LaserConfig
from osclc.drivers.clock import Clock
from osclc.drivers.laser import Laser, LaserStatus
from osclc.drivers.retry import RetryPolicy
from osclc.drivers.sim.faults import FaultInjector


class SimulatedLaser(Laser):
    """Laser with power, emission and an interlock; faults from ``simulation.faults.laser`` and the interlock settings.

    When the interlock opens, emission stops at once (as a real interlock does) and ``status().faults``
    says so. ``interlock_closed`` may be set by a test to close or open it by hand. Its light ends with this
    process, so a bench needs no safety supervisor for it.
    """

    outlives_process = False

    def __init__(self, name: str, max_power_mw: float, faults: FaultsConfig, timeout_s: float,
                 clock: Clock | None = None, retry: RetryPolicy | None = None) -> None:
        super().__init__(name, max_power_mw, clock, retry)
        self._faults = FaultInjector(self._label(), faults.laser, faults.seed, self.clock)
        self._interlock_after = faults.interlock_opens_after_calls
        self.interlock_closed = not faults.interlock_open
        self.timeout_s = timeout_s
        self.emission = False
        self.power = 0.0

    def _call(self, action: str) -> None:
        self._faults.check(action, self.timeout_s)
        if self._interlock_after is not None and self._faults.calls > self._interlock_after:
            self.interlock_closed = False
        if not self.interlock_closed:
            self.emission = False

    def _identity_hw(self) -> str:
        self._call("*IDN?")
        return "osclc,SimulatedLaser,SIM0001,1.0"

    def _set_power_hw(self, mw: float) -> None:
        self._call("set power")
        self.power = mw

    def _power_hw(self) -> float:
        self._call("query power")
        return self.power

    def _set_emission_hw(self, on: bool) -> None:
        if not on:
            self.emission = False  # switching off always works, even on a faulty link
        self._call("set emission")
        self.emission = on and self.interlock_closed

    def _status_hw(self) -> LaserStatus:
        self._call("query status")
        faults = [] if self.interlock_closed else ["interlock open"]
        return LaserStatus(self.emission, self.power, self.interlock_closed, faults)

    def _close_hw(self) -> None:
        self.emission = False


@register_backend("laser", "simulated")
def open_simulated_laser(section: LaserConfig, shared: BenchShared) -> SimulatedLaser:
    """The simulated laser of a bench; the simulated optics take their light from it."""
    laser = SimulatedLaser("sim-laser", section.max_power_mw, shared.config.simulation.faults, section.timeout_s,
                           shared.clock, shared.retry)
    shared.extras["laser"] = laser
    return laser
