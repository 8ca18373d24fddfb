"""Template for a new camera vendor: copy to ``drivers/<vendor>_camera.py`` and fill in the hooks.

Steps:
1. Rename ``TemplateCamera``; open the camera in ``__init__`` (settings in ``section.options``), check that the
   sensor shape and bit depth match the config, apply ``section.exposure_s`` and ``section.gain``.
2. Implement the hooks. :meth:`Camera.capture` validates the timeout, starts acquisition when needed,
   retries transient faults, stamps ``t_received_ns`` and checks the frame shape. ``_capture_hw`` must return
   within ``timeout_s`` or raise :class:`~osclc.drivers.errors.DeviceTimeout` naming the camera; put the
   camera's own frame counter in ``RawFrame.index`` (gaps then show dropped frames) and its timestamp in
   ``device_timestamp_ns`` when it has one (converted to ns). Return True from ``_set_roi_hw`` only if the
   hardware applies the ROI (else the base class crops).
3. Register with ``@register_backend("camera", "<vendor>")``, add the name to the ``backend`` Literal of
   :class:`~osclc.drivers.bench_config.CameraConfig` and the module to ``BACKEND_MODULES``. Check first
   whether slmsuite already drives the camera (then use the ``slmsuite`` backend).
"""

from __future__ import annotations

from osclc.drivers.backends import BenchShared
from osclc.drivers.bench_config import CameraConfig
from osclc.drivers.camera import Camera, RawFrame


class TemplateCamera(Camera):
    """Skeleton of a vendor camera backend (every hook raises NotImplementedError until written)."""

    def __init__(self, section: CameraConfig, shared: BenchShared) -> None:
        super().__init__("template-camera", section.shape, section.pitch_m, section.bit_depth, section.exposure_s,
                         section.gain, clock=shared.clock, retry=shared.retry)

    def _capture_hw(self, timeout_s: float) -> RawFrame:
        raise NotImplementedError("software-trigger one frame, wait for it at most timeout_s, return RawFrame(image, index, ...)")

    def _set_exposure_hw(self, exposure_s: float) -> None:
        raise NotImplementedError("apply the exposure (convert seconds to the SDK's unit)")

    def _set_gain_hw(self, gain: float) -> None:
        raise NotImplementedError("apply the gain, or raise InvalidSetting if the camera has none")

    def _start_hw(self) -> None:
        raise NotImplementedError("arm acquisition (software-trigger mode)")

    def _stop_hw(self) -> None:
        raise NotImplementedError("disarm acquisition")

    def _close_hw(self) -> None:
        raise NotImplementedError("release the camera handle")


def open_template_camera(section: CameraConfig, shared: BenchShared) -> TemplateCamera:
    """Factory for the registry: ``register_backend("camera", "<vendor>")(open_template_camera)``."""
    return TemplateCamera(section, shared)
