"""The simulated Fourier-plane SLM: gray levels go into the shared optical model (hidden LUT, fringing, ...)."""

from __future__ import annotations

import numpy as np

from osclc.drivers.backends import BenchShared, register_backend
from osclc.drivers.bench_config import SLMConfig
from osclc.drivers.sim.faults import FaultInjector
from osclc.drivers.sim.sync import SYNC_KEY
from osclc.drivers.sim.optics import SimulatedBench, shared_simulation
from osclc.drivers.slm import SLM


class SimulatedSLM(SLM):
    """An SLM whose displayed pattern sets the transmittance of ``simulation`` (see :mod:`osclc.drivers.sim.optics`)."""

    simulated = True

    def __init__(self, section: SLMConfig, simulation: SimulatedBench, shared: BenchShared) -> None:
        super().__init__("sim-slm", section.shape, section.pitch_m, section.bit_depth, section.settle_s,
                         section.refresh_hz, shared.clock, shared.retry)
        self.simulation = simulation
        faults = shared.config.simulation.faults
        self._faults = FaultInjector(self._label(), faults.slm, faults.seed, self.clock)
        self._timeout_s = shared.config.timeout_s
        shared.extras.setdefault(SYNC_KEY, {})["slm"] = self  # its sync output can trigger the camera

    def _display_hw(self, values: np.ndarray) -> None:
        self._faults.check("display a pattern", self._timeout_s)
        self.simulation.set_slm(values)

    def _blank_hw(self) -> None:
        self._faults.check("blank", self._timeout_s)
        self.simulation.set_slm(np.zeros(self.shape, self.dtype))


@register_backend("slm", "simulated")
def open_simulated_slm(section: SLMConfig, shared: BenchShared) -> SimulatedSLM:
    """The simulated SLM of a bench."""
    return SimulatedSLM(section, shared_simulation(shared), shared)
