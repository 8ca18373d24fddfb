"""The simulated input modulator: device values go into the shared optical model (lens-1 spectrum)."""

from __future__ import annotations

import numpy as np

from osclc.drivers.backends import BenchShared, register_backend
from osclc.drivers.bench_config import InputConfig
from osclc.drivers.input_modulator import InputModulator
from osclc.drivers.physics.timing import input_switch_time_s
from osclc.drivers.sim.faults import FaultInjector
from osclc.drivers.sim.sync import SYNC_KEY
from osclc.drivers.sim.optics import SimulatedBench, shared_simulation


class SimulatedInputModulator(InputModulator):
    """An input modulator whose image is the input field of ``simulation`` (quantised to ``bit_depth``)."""

    simulated = True

    def __init__(self, section: InputConfig, simulation: SimulatedBench, shared: BenchShared) -> None:
        super().__init__("sim-input", section.shape, section.pitch_m, section.encoding, section.bit_depth,
                         input_switch_time_s(section.settle_s, section.timing.pattern_rate_hz()), shared.clock, shared.retry)
        self.simulation = simulation
        faults = shared.config.simulation.faults
        self._faults = FaultInjector(self._label(), faults.input, faults.seed, self.clock)
        self._timeout_s = shared.config.timeout_s
        shared.extras.setdefault(SYNC_KEY, {})["input"] = self  # its sync output can trigger the camera

    def _show_hw(self, values: np.ndarray) -> None:
        self._faults.check("show an image", self._timeout_s)
        self.simulation.set_input(values, self.encoding, self.bit_depth)

    def _blank_hw(self) -> None:
        self._faults.check("blank", self._timeout_s)
        self.simulation.set_input(np.zeros(self.shape, np.float32), self.encoding, self.bit_depth)


@register_backend("input", "simulated")
def open_simulated_input(section: InputConfig, shared: BenchShared) -> SimulatedInputModulator:
    """The simulated input modulator of a bench."""
    return SimulatedInputModulator(section, shared_simulation(shared), shared)
