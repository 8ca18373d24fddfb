"""Any slmsuite SLM (screen-mirrored HDMI SLMs, Meadowlark, Santec, Holoeye, Hamamatsu, Thorlabs,
TI PLM, slmsuite's ``SimulatedSLM``...) as our Fourier-plane :class:`~osclc.drivers.slm.SLM` or as the
:class:`~osclc.drivers.input_modulator.InputModulator` (an amplitude SLM or DMD driven by gray levels).

The adapters only validate and time (the interfaces do that) and hand integer gray levels to
slmsuite's own ``set_phase``, which passes integer data of its display dtype straight to the
hardware (no phase conversion, no wavefront correction: the calibration LUT and corrections are
already in our patterns). slmsuite's settle wait is not used; our interface waits ``settle_s`` on
the bench clock. Bench config: ``backend: slmsuite`` with ``options.slmsuite_class`` and the class's
keyword arguments (see :mod:`osclc.drivers.vendors.slmsuite_common`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from slmsuite.hardware.slms.slm import SLM as SlmsuiteBase

from osclc.drivers.backends import BenchShared, register_backend
from osclc.drivers.bench_config import InputConfig, SLMConfig
from osclc.drivers.clock import Clock
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.input_modulator import InputModulator
from osclc.drivers.retry import RetryPolicy
from osclc.drivers.slm import SLM
from osclc.drivers.vendors.slmsuite_common import build_slmsuite_device, check_geometry, slmsuite_call

SHARED_SLM_KEY = "slmsuite_slm"
"""Key of ``BenchShared.extras`` holding the Fourier-plane slmsuite SLM (slmsuite's SimulatedCamera renders from it)."""


def square_pitch_m(label: str, device: Any) -> float:
    """The pixel pitch (m) of an slmsuite device with square pixels; InvalidSetting for non-square ones."""
    pitch_x, pitch_y = (float(v) for v in device.pitch_um)
    if abs(pitch_x - pitch_y) > 0.01 * max(pitch_x, pitch_y):
        raise InvalidSetting(f"{label}: pixels of {pitch_x} x {pitch_y} um are not square; only square pixels are supported")
    return pitch_x * 1e-6


class SlmsuiteSLM(SLM):
    """Our SLM interface on an slmsuite SLM ``device``: shape, pitch and bit depth come from the device."""

    def __init__(self, device: SlmsuiteBase, name: str, settle_s: float = 0.0, refresh_hz: float = 60.0,
                 clock: Clock | None = None, retry: RetryPolicy | None = None) -> None:
        self.device = device
        super().__init__(name, tuple(device.shape), square_pitch_m(f"SLM {name!r}", device), device.bitdepth,
                         settle_s, refresh_hz, clock, retry)

    def _display_hw(self, values: np.ndarray) -> None:
        slmsuite_call(self._label(), self.name, "display a pattern", lambda: self.device.set_phase(values, settle=False))

    def _blank_hw(self) -> None:
        self._display_hw(np.zeros(self.shape, self.dtype))

    def _close_hw(self) -> None:
        slmsuite_call(self._label(), self.name, "close", self.device.close)


class SlmsuiteInputModulator(InputModulator):
    """Our InputModulator on an slmsuite SLM ``device`` driven by gray levels: value v in [0, 1] is shown
    as gray level ``round(v * (2**bitdepth - 1))`` (``encoding`` says whether gray is linear in
    amplitude or in intensity; 0 must be dark)."""

    def __init__(self, device: SlmsuiteBase, name: str, encoding: str = "amplitude", settle_s: float = 0.0,
                 clock: Clock | None = None, retry: RetryPolicy | None = None) -> None:
        self.device = device
        super().__init__(name, tuple(device.shape), square_pitch_m(f"input modulator {name!r}", device), encoding,
                         device.bitdepth, settle_s, clock, retry)

    def gray_levels(self, values: np.ndarray) -> np.ndarray:
        """Device values in [0, 1] as integer gray levels in the device's display dtype."""
        top = (1 << self.bit_depth) - 1
        return np.rint(values * top).astype(self.device.dtype)

    def _show_hw(self, values: np.ndarray) -> None:
        gray = self.gray_levels(values)
        slmsuite_call(self._label(), self.name, "show an image", lambda: self.device.set_phase(gray, settle=False))

    def _blank_hw(self) -> None:
        gray = np.zeros(self.shape, self.device.dtype)
        slmsuite_call(self._label(), self.name, "blank", lambda: self.device.set_phase(gray, settle=False))

    def _close_hw(self) -> None:
        slmsuite_call(self._label(), self.name, "close", self.device.close)


def device_name(device: Any) -> str:
    """A name for an slmsuite device in our messages: its class and its own name when it has one."""
    own = str(getattr(device, "name", "") or "")
    kind = type(device).__name__
    return kind if own in ("", kind) else f"{kind} {own}"


def _fills(shape: tuple[int, int], pitch_m: float, bit_depth: int, shared: BenchShared) -> dict[str, Any]:
    return {"resolution": (shape[1], shape[0]), "pitch_um": (pitch_m * 1e6, pitch_m * 1e6), "bitdepth": bit_depth,
            "wav_um": shared.config.optics.wavelength_m * 1e6}


def _adapt(section: str, config: SLMConfig | InputConfig, device: Any,
           make: Callable[[Any], SlmsuiteSLM | SlmsuiteInputModulator]) -> Any:
    """Wrap ``device`` with ``make`` and check it against the config; the device is closed on any failure."""
    try:
        adapter = make(device)
    except BaseException:
        device.close()
        raise
    try:
        check_geometry(section, config.shape, config.bit_depth, config.pitch_m, device.shape, device.bitdepth, adapter.pitch_m)
    except InvalidSetting:
        adapter.close()
        raise
    return adapter


@register_backend("slm", "slmsuite")
def open_slmsuite_slm(config: SLMConfig, shared: BenchShared) -> SlmsuiteSLM:
    """The bench's Fourier-plane SLM through slmsuite (its slmsuite object is shared as ``extras["slmsuite_slm"]``)."""
    device = build_slmsuite_device("slm", config.options, SlmsuiteBase,
                                   _fills(config.shape, config.pitch_m, config.bit_depth, shared))
    slm = _adapt("slm", config, device, lambda d: SlmsuiteSLM(d, device_name(d), config.settle_s, config.refresh_hz,
                                                              shared.clock, shared.retry))
    shared.extras[SHARED_SLM_KEY] = device
    return slm


@register_backend("input", "slmsuite")
def open_slmsuite_input(config: InputConfig, shared: BenchShared) -> SlmsuiteInputModulator:
    """The bench's input modulator through slmsuite."""
    device = build_slmsuite_device("input", config.options, SlmsuiteBase,
                                   _fills(config.shape, config.pitch_m, config.bit_depth, shared))
    return _adapt("input", config, device, lambda d: SlmsuiteInputModulator(d, device_name(d), config.encoding,
                                                                            config.settle_s, shared.clock, shared.retry))
