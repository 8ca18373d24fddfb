"""Any slmsuite camera (OpenCV webcams via ``slmsuite.hardware.cameras.webcam.Webcam``, Thorlabs, FLIR,
Basler, Allied Vision, pylablib, Micro-Manager, slmsuite's ``SimulatedCamera``...) as our
:class:`~osclc.drivers.camera.Camera`.

The adapter uses slmsuite's own ``get_image`` (its WOI crop, orientation transform, averaging and
HDR settings apply), ``set_exposure`` and ``set_woi`` (our ROI, done in hardware where slmsuite can).
slmsuite's internal capture retries are turned off (``capture_attempts = 1``) unless the options set
them, so the bench's retry policy is the one that counts. slmsuite cameras have no common gain API:
where the camera object has a ``gain`` attribute (``SimulatedCamera``) it is set, otherwise the gain
stays at the configured value (set it in the vendor tool) and other values are refused.
slmsuite gives no device timestamps: the exposure window is estimated from the call time.
Bench config: ``backend: slmsuite`` with ``options.slmsuite_class`` and the class's keyword arguments
(see :mod:`osclc.drivers.vendors.slmsuite_common`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from slmsuite.hardware.cameras.camera import Camera as SlmsuiteBase

from osclc.drivers.backends import BenchShared, register_backend
from osclc.drivers.bench_config import CameraConfig
from osclc.drivers.camera import Camera, RawFrame
from osclc.drivers.clock import Clock
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.retry import RetryPolicy
from osclc.drivers.vendors.slmsuite_common import build_slmsuite_device, check_geometry, slmsuite_call
from osclc.drivers.vendors.slmsuite_slm import SHARED_SLM_KEY, device_name

DEFAULT_EXPOSURE_RANGE_S = (1e-6, 10.0)
GAIN_RANGE = (0.0, 1e3)


class SlmsuiteCamera(Camera):
    """Our Camera interface on an slmsuite camera ``device``.

    Sensor shape and bit depth come from the device; ``pitch_m`` (m) from the device when it knows
    it, else from the caller. ``exposure_s`` (s) and ``gain`` are applied to the device on opening.
    """

    def __init__(self, device: SlmsuiteBase, name: str, pitch_m: float, exposure_s: float, gain: float,
                 clock: Clock | None = None, retry: RetryPolicy | None = None) -> None:
        self.device = device
        self.has_gain = hasattr(device, "gain")
        bounds = device.exposure_bounds_s or DEFAULT_EXPOSURE_RANGE_S
        super().__init__(name, tuple(device.sensor_shape), pitch_m, device.bitdepth, exposure_s, gain,
                         (float(bounds[0]), float(bounds[1])), GAIN_RANGE if self.has_gain else (gain, gain),
                         clock, retry)
        self.exposure_s = exposure_s
        self.gain = gain

    def _capture_hw(self, timeout_s: float) -> RawFrame:
        image = slmsuite_call(self._label(), self.name, "capture a frame", lambda: self.device.get_image(timeout_s=timeout_s))
        return RawFrame(np.asarray(image))

    def _set_exposure_hw(self, exposure_s: float) -> None:
        slmsuite_call(self._label(), self.name, "set the exposure", lambda: self.device.set_exposure(exposure_s))

    def _set_gain_hw(self, gain: float) -> None:
        if self.has_gain:
            self.device.gain = gain

    def _set_roi_hw(self, roi: tuple[int, int, int, int] | None) -> bool:
        woi = None if roi is None else (roi[1], roi[3], roi[0], roi[2])
        slmsuite_call(self._label(), self.name, "set the window of interest", lambda: self.device.set_woi(woi))
        wanted = self.sensor_shape if roi is None else (roi[2], roi[3])
        if tuple(self.device.shape) != wanted:
            raise InvalidSetting(f"{self._label()}: the camera realised a {tuple(self.device.shape)} window instead of "
                                 f"{wanted} for roi {roi}; choose a ROI the camera supports")
        return True

    def _close_hw(self) -> None:
        slmsuite_call(self._label(), self.name, "close", self.device.close)


@register_backend("camera", "slmsuite")
def open_slmsuite_camera(config: CameraConfig, shared: BenchShared) -> SlmsuiteCamera:
    """The bench's camera through slmsuite; a camera class taking ``slm`` gets the bench's slmsuite SLM."""
    fills: dict[str, Any] = {"resolution": (config.shape[1], config.shape[0]), "bitdepth": config.bit_depth,
                             "pitch_um": (config.pitch_m * 1e6, config.pitch_m * 1e6)}
    if SHARED_SLM_KEY in shared.extras:
        fills["slm"] = shared.extras[SHARED_SLM_KEY]
    device = build_slmsuite_device("camera", config.options, SlmsuiteBase, fills)
    try:
        if "capture_attempts" not in config.options:
            device.capture_attempts = 1
        pitch_m = None if device.pitch_um is None else float(device.pitch_um[0]) * 1e-6
        check_geometry("camera", config.shape, config.bit_depth, config.pitch_m, device.sensor_shape, device.bitdepth, pitch_m)
        return SlmsuiteCamera(device, device_name(device), config.pitch_m, config.exposure_s, config.gain,
                              shared.clock, shared.retry)
    except BaseException:
        device.close()
        raise
