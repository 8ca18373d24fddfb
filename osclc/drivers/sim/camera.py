"""The simulated camera: each capture computes the frame of the shared optical model, with its timing.

A hardware-triggered capture (``camera.timing.trigger``: slm / input) starts its exposure when that simulated
device's last pattern settled (its sync output), not when the host asks. Timing model of one capture (:mod:`osclc.drivers.physics.timing`): exposure ``exposure_s``,
then ``readout_s``, then the transfer of the full sensor frame at ``link_MBps`` (1e6 bytes/s; 0 = instantaneous). The frame's
computation runs inside that time (:meth:`osclc.drivers.clock.Clock.overlap`): on a real clock the capture
returns when that much time has passed since the trigger, or when the computation ends if it takes longer
(the excess is charged to the clock's overrun account); on a virtual clock it advances the clock by that much.
"""

from __future__ import annotations

from osclc.drivers.backends import BenchShared, register_backend
from osclc.drivers.bench_config import CameraConfig
from osclc.drivers.camera import Camera, RawFrame
from osclc.drivers.errors import DeviceTimeout
from osclc.drivers.physics.timing import capture_time_s, readout_time_s, transfer_time_s
from osclc.drivers.sim.faults import FaultInjector
from osclc.drivers.sim.optics import SimulatedBench, shared_simulation
from osclc.drivers.sim.sync import SYNC_KEY


class SimulatedCamera(Camera):
    """A camera whose frames come from ``simulation`` (:meth:`SimulatedBench.frame`); ROI is cropped in software."""

    def __init__(self, section: CameraConfig, simulation: SimulatedBench, shared: BenchShared) -> None:
        super().__init__("sim-camera", section.shape, section.pitch_m, section.bit_depth, section.exposure_s,
                         section.gain, clock=shared.clock, retry=shared.retry)
        self.simulation = simulation
        self.readout_s = section.readout_s
        self.link_MBps = section.link_MBps
        faults = shared.config.simulation.faults
        self._faults = FaultInjector(self._label(), faults.camera, faults.seed, self.clock)
        self._timeout_s = shared.config.timeout_s
        self._device_index = 0
        self._rows_readout = section.timing.roi_readout == "rows"
        self._sync_sources = shared.extras.setdefault(SYNC_KEY, {})
        self._last_trigger_ns: int | None = None
        self.trigger = section.timing.trigger

    def frame_time_s(self) -> float:
        """Trigger-to-host time of one frame (s): exposure + readout + transfer (:mod:`osclc.drivers.physics.timing`);
        with ``camera.timing.roi_readout: rows`` the sensor reads and sends only the ROI's rows, else the full sensor."""
        rows = self.shape[0] if self._rows_readout else self.sensor_shape[0]
        read = (rows, self.sensor_shape[1])
        readout = readout_time_s(self.readout_s, rows, self.sensor_shape[0], self._rows_readout)
        return capture_time_s(self.exposure_s, readout, transfer_time_s(read, self.bit_depth, self.link_MBps))

    def _trigger_ns(self, timeout_s: float) -> int | None:
        """Start (ns) of a hardware-triggered exposure: the trigger source's last settle, once; None when software-timed."""
        if self.trigger == "software":
            return None
        source = self._sync_sources.get(self.trigger)
        settled = None if source is None else source.settled_ns
        if settled is None or settled == self._last_trigger_ns:
            self.clock.sleep(timeout_s)
            raise DeviceTimeout(f"{self._label()}: no trigger from the {self.trigger}'s sync output within {timeout_s:g} s "
                                f"(no new pattern settled since the last frame); show a new pattern before each capture "
                                f"or set camera.timing.trigger: software", self.name)
        self._last_trigger_ns = settled
        return settled

    def _set_trigger_hw(self, source: str) -> None:
        self._faults.check("set the trigger", self._timeout_s)

    def _capture_hw(self, timeout_s: float) -> RawFrame:
        index = self._device_index
        self._device_index += 1  # a dropped or timed-out frame still used a sensor frame: indices show gaps
        self._faults.check("capture a frame", timeout_s, frame=True)
        duration = self.frame_time_s()
        if duration > timeout_s:
            self.clock.sleep(timeout_s)
            raise DeviceTimeout(f"{self._label()}: frame not received within {timeout_s:g} s "
                                f"(exposure + readout + transfer = {duration:g} s); raise the timeout or shorten the exposure",
                                self.name)
        trigger = self._trigger_ns(timeout_s)
        image, received = self.clock.overlap(duration, lambda: self.simulation.frame(self.exposure_s, self.gain), trigger)
        start = received - int(round(duration * 1e9))
        return RawFrame(image, index, start, start + int(round(self.exposure_s * 1e9)), device_timestamp_ns=start)

    def _set_exposure_hw(self, exposure_s: float) -> None:
        self._faults.check("set the exposure", self._timeout_s)

    def _set_gain_hw(self, gain: float) -> None:
        self._faults.check("set the gain", self._timeout_s)

    def _start_hw(self) -> None:
        self._faults.check("start acquisition", self._timeout_s)

    def _stop_hw(self) -> None:
        self._faults.check("stop acquisition", self._timeout_s)


@register_backend("camera", "simulated")
def open_simulated_camera(section: CameraConfig, shared: BenchShared) -> SimulatedCamera:
    """The simulated camera of a bench."""
    return SimulatedCamera(section, shared_simulation(shared), shared)
