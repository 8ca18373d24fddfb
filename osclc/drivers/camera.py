"""The camera at the output plane (slmsuite habit: the public method validates and times, a hook talks to it).

A backend implements ``_capture_hw(timeout_s) -> RawFrame`` (one software-triggered frame; it must
raise :class:`~osclc.drivers.errors.DeviceTimeout` itself if nothing arrives within ``timeout_s``),
``_set_exposure_hw``, ``_set_gain_hw``, and optionally ``_start_hw``/``_stop_hw`` (acquisition on/off),
``_set_roi_hw`` (hardware region of interest; returning False makes the base class crop in software)
and ``_close_hw``.

Trigger modes (:data:`TRIGGERS`): ``software`` (the default; :meth:`Camera.capture` starts the exposure) or
``slm`` / ``input``: the exposure is started by that device's sync output when its new pattern has settled,
so no software round trip lies between the pattern and the exposure; :meth:`Camera.capture` then collects the
frame the trigger started. A backend whose camera has no trigger input refuses them (:meth:`_set_trigger_hw`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from osclc.drivers.clock import Clock
from osclc.drivers.device import Device
from osclc.drivers.errors import DeviceError, InvalidSetting
from osclc.drivers.retry import RetryPolicy

TRIGGERS = ("software", "slm", "input")
"""Trigger sources of an exposure: the host, or the sync output of the SLM or of the input modulator."""


@dataclass
class Frame:
    """One captured frame.

    ``image``: 2-D array (uint16/uint8 counts, or float32 ADU from a simulated camera with quantisation off);
    ``index``: frame counter (the device's when it has one, so gaps show dropped frames);
    ``t_exposure_start_ns`` / ``t_exposure_end_ns``: exposure window on the bench clock (ns);
    ``t_received_ns``: when the host had the frame (ns); ``device_timestamp_ns``: the camera's own stamp, if any.
    """

    image: np.ndarray
    index: int
    t_exposure_start_ns: int
    t_exposure_end_ns: int
    t_received_ns: int
    device_timestamp_ns: int | None = None


@dataclass
class RawFrame:
    """What a backend hook returns; missing exposure stamps are estimated by :meth:`Camera.capture`."""

    image: np.ndarray
    index: int | None = None
    t_exposure_start_ns: int | None = None
    t_exposure_end_ns: int | None = None
    device_timestamp_ns: int | None = None


class Camera(Device, ABC):
    """Camera of ``sensor_shape`` (rows, cols) pixels of pitch ``pitch_m`` (m) and ``bit_depth`` bits.

    ``exposure_s`` (s) and ``gain`` (the backend's gain setting; for the simulated camera digital counts
    per electron) are validated against ``exposure_range_s`` and ``gain_range``. ``roi`` (row0, col0, rows, cols) or None for the full sensor; ``shape`` is the ROI shape.
    """

    kind = "camera"

    def __init__(
        self,
        name: str,
        sensor_shape: tuple[int, int],
        pitch_m: float,
        bit_depth: int,
        exposure_s: float,
        gain: float = 1.0,
        exposure_range_s: tuple[float, float] = (1e-6, 10.0),
        gain_range: tuple[float, float] = (0.0, 1e3),
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(name, clock, retry)
        self.sensor_shape = self._check_shape("sensor_shape", sensor_shape)
        self.bit_depth = self._check_bit_depth(bit_depth)
        self.pitch_m = self._check_number("pitch_m", pitch_m, 1e-7, 1e-3, "m")
        self.exposure_range_s = (float(exposure_range_s[0]), float(exposure_range_s[1]))
        self.gain_range = (float(gain_range[0]), float(gain_range[1]))
        self._exposure_s = self._check_number("exposure_s", exposure_s, *self.exposure_range_s, "s")
        self._gain = self._check_number("gain", gain, *self.gain_range, "")
        self.roi: tuple[int, int, int, int] | None = None
        self.trigger = "software"
        self._software_roi = False
        self.acquiring = False
        self.frames = 0

    # ------------------------------------------------------------------ settings

    @property
    def shape(self) -> tuple[int, int]:
        """Shape (rows, cols) of the frames :meth:`capture` returns (the ROI, or the sensor)."""
        return self.sensor_shape if self.roi is None else (self.roi[2], self.roi[3])

    @property
    def max_count(self) -> int:
        """Largest pixel value, ``2**bit_depth - 1``."""
        return (1 << self.bit_depth) - 1

    @property
    def exposure_s(self) -> float:
        """Exposure time (s)."""
        return self._exposure_s

    @exposure_s.setter
    def exposure_s(self, seconds: float) -> None:
        self._exposure_s = self._set_number("set the exposure", self._set_exposure_hw, "exposure_s", seconds,
                                            *self.exposure_range_s, "s")

    @property
    def gain(self) -> float:
        """Gain (see the class doc)."""
        return self._gain

    @gain.setter
    def gain(self, value: float) -> None:
        self._gain = self._set_number("set the gain", self._set_gain_hw, "gain", value, *self.gain_range, "")

    def set_roi(self, roi: tuple[int, int, int, int] | None) -> None:
        """Read only the region (row0, col0, rows, cols) of the sensor, or the full sensor for None."""
        if roi is not None:
            if len(roi) != 4 or any(int(v) != v for v in roi):
                raise InvalidSetting(f"{self._label()}: roi must be 4 integers (row0, col0, rows, cols), got {roi!r}")
            r0, c0, nr, nc = (int(v) for v in roi)
            if r0 < 0 or c0 < 0 or nr < 1 or nc < 1 or r0 + nr > self.sensor_shape[0] or c0 + nc > self.sensor_shape[1]:
                raise InvalidSetting(f"{self._label()}: roi {roi!r} does not fit the {self.sensor_shape} sensor")
            roi = (r0, c0, nr, nc)
        hardware = self._hw("set the ROI", lambda: self._set_roi_hw(roi))
        self.roi = roi
        self._software_roi = roi is not None and not hardware

    def set_trigger(self, source: str) -> None:
        """Start exposures from ``source`` (:data:`TRIGGERS`): the host, or the SLM's / input modulator's sync output."""
        if source not in TRIGGERS:
            raise InvalidSetting(f"{self._label()}: trigger must be one of {TRIGGERS}, got {source!r}")
        self._hw("set the trigger", lambda: self._set_trigger_hw(source))
        self.trigger = source

    # ------------------------------------------------------------------ acquisition

    def start(self) -> None:
        """Start acquisition (capture() starts it when needed)."""
        self._hw("start acquisition", self._start_hw)
        self.acquiring = True

    def stop(self) -> None:
        """Stop acquisition; calling it when stopped does nothing."""
        if self.acquiring and not self.closed:
            self._stop_hw()
        self.acquiring = False

    def capture(self, timeout_s: float = 1.0) -> Frame:
        """One frame with its timestamps; raises DeviceTimeout (naming the camera) when none arrives in ``timeout_s`` (s)."""
        timeout = self._check_number("timeout_s", timeout_s, 1e-6, 3600.0, "s")
        if not self.acquiring:
            self.start()
        t_call = self.clock.now_ns()
        raw = self._hw("capture a frame", lambda: self._capture_hw(timeout))
        t_received = self.clock.now_ns()
        image = raw.image
        expected = self.sensor_shape if self._software_roi else self.shape
        if not isinstance(image, np.ndarray) or image.ndim != 2 or image.shape != expected:
            got = getattr(image, "shape", type(image).__name__)
            raise DeviceError(f"{self._label()}: the backend returned a frame of shape {got}, expected {expected}", self.name)
        if self._software_roi and self.roi is not None:
            r0, c0, nr, nc = self.roi
            image = image[r0:r0 + nr, c0:c0 + nc]
        start = raw.t_exposure_start_ns if raw.t_exposure_start_ns is not None else t_call
        end = raw.t_exposure_end_ns if raw.t_exposure_end_ns is not None else start + int(self._exposure_s * 1e9)
        index = raw.index if raw.index is not None else self.frames
        self.frames += 1
        return Frame(image, index, start, end, t_received, raw.device_timestamp_ns)

    def _make_safe(self) -> None:
        """Stop acquisition; :meth:`close` does this first."""
        self.stop()

    def state(self) -> dict[str, object]:
        """A short description for ``osclc bench check``."""
        return {
            "sensor_shape": self.sensor_shape, "roi": self.roi, "pitch_m": self.pitch_m, "bit_depth": self.bit_depth,
            "exposure_s": self._exposure_s, "gain": self._gain, "acquiring": self.acquiring, "frames": self.frames,
            "trigger": self.trigger, "closed": self.closed,
        }

    # ------------------------------------------------------------------ hooks

    @abstractmethod
    def _capture_hw(self, timeout_s: float) -> RawFrame:
        """Acquire one frame of :attr:`shape` (or the full sensor under a software ROI) within ``timeout_s``."""

    @abstractmethod
    def _set_exposure_hw(self, exposure_s: float) -> None:
        """Apply a validated exposure time (s)."""

    @abstractmethod
    def _set_gain_hw(self, gain: float) -> None:
        """Apply a validated gain."""

    def _set_roi_hw(self, roi: tuple[int, int, int, int] | None) -> bool:
        """Apply a hardware ROI; return False (the default) to let the base class crop in software."""
        return False

    def _set_trigger_hw(self, source: str) -> None:
        """Route the exposure trigger to ``source``; the default refuses any but ``software`` (no trigger input)."""
        if source != "software":
            raise InvalidSetting(f"{self._label()}: this camera backend has no hardware trigger input; "
                                 "set camera.timing.trigger: software")

    def _start_hw(self) -> None:
        """Start acquisition on the device (default: nothing to do)."""

    def _stop_hw(self) -> None:
        """Stop acquisition on the device (default: nothing to do)."""
