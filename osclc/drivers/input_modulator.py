"""The input modulator that shows the image (an amplitude SLM, a DMD, a second SLM), slmsuite habit.

:meth:`InputModulator.show` always takes the wanted FIELD AMPLITUDE in [0, 1]; ``encoding`` says how the
device realises it, and :meth:`device_values` is what is sent to the hook:

- ``"amplitude"``: the device modulates field amplitude linearly; it receives the amplitude.
- ``"intensity"``: the device modulates intensity linearly (DMD with grey-scale dithering, an intensity
  SLM between polarisers); it receives ``amplitude**2`` so that the field amplitude is as wanted.

Values are quantised to ``bit_depth`` bits by the device. A backend implements ``_show_hw``
(float32 device values in [0, 1]), ``_blank_hw`` (all dark) and optionally ``_close_hw``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from osclc.drivers.clock import Clock
from osclc.drivers.device import Device
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.retry import RetryPolicy

ENCODINGS = ("amplitude", "intensity")


class InputModulator(Device, ABC):
    """Shows an amplitude image in [0, 1] of ``shape`` (rows, cols) pixels of pitch ``pitch_m`` (m)."""

    kind = "input modulator"
    simulated = False
    """True for a simulated backend: its hooks are the simulator's compute, which runs inside the device time
    (:meth:`osclc.drivers.clock.Clock.overlap`) rather than before it."""

    def __init__(
        self,
        name: str,
        shape: tuple[int, int],
        pitch_m: float,
        encoding: str = "amplitude",
        bit_depth: int = 8,
        settle_s: float = 0.0,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(name, clock, retry)
        self.settled_ns: int | None = None
        """Device time (ns) its last pattern settled: when its sync output pulses (a triggered camera starts then)."""
        self.shape = self._check_shape("shape", shape)
        if encoding not in ENCODINGS:
            raise InvalidSetting(f"{self._label()}: encoding must be one of {ENCODINGS}, got {encoding!r}")
        self.encoding = encoding
        self.bit_depth = self._check_bit_depth(bit_depth)
        self.pitch_m = self._check_number("pitch_m", pitch_m, 1e-7, 1e-3, "m")
        self.settle_s = self._check_number("settle_s", settle_s, 0.0, 10.0, "s")
        self.shown: np.ndarray | None = None
        self.shows = 0

    def validate(self, amplitude: np.ndarray) -> np.ndarray:
        """``amplitude`` as a float32 copy, or :class:`InvalidSetting` (type, shape, NaN, range outside [0, 1])."""
        label = self._label()
        if not isinstance(amplitude, np.ndarray):
            raise InvalidSetting(f"{label}: the image must be a numpy array of amplitudes in [0, 1], got {type(amplitude).__name__}")
        if amplitude.shape != self.shape:
            raise InvalidSetting(f"{label}: image shape {amplitude.shape} does not match the modulator shape {self.shape}; "
                                 f"place the image on a {self.shape} canvas first")
        if amplitude.dtype.kind not in "fui" or amplitude.dtype == np.bool_:
            raise InvalidSetting(f"{label}: image dtype {amplitude.dtype} is not numeric; pass float amplitudes in [0, 1]")
        values = np.array(amplitude, dtype=np.float32, order="C", copy=True)
        if not np.isfinite(values).all():
            raise InvalidSetting(f"{label}: the image contains NaN or infinite values")
        lo, hi = float(values.min()), float(values.max())
        if lo < 0.0 or hi > 1.0:
            raise InvalidSetting(f"{label}: amplitudes span [{lo:g}, {hi:g}], outside [0, 1]; normalise the image")
        return values

    def device_values(self, amplitude: np.ndarray) -> np.ndarray:
        """The values in [0, 1] the device receives for a validated amplitude (see the module doc)."""
        return amplitude if self.encoding == "amplitude" else np.square(amplitude)

    def show(self, amplitude: np.ndarray) -> int:
        """Show field amplitude ``amplitude`` (floats in [0, 1] of :attr:`shape`), wait ``settle_s``; returns the settled time (ns)."""
        values = self.validate(amplitude)
        device = self.device_values(values)
        settled = self.clock.send_and_settle(lambda: self._hw("show an image", lambda: self._show_hw(device)),
                                             self.settle_s, self.simulated)
        self.shown = values
        self.shows += 1
        self.settled_ns = settled
        return settled

    def blank(self) -> int:
        """Show an all-dark image, wait ``settle_s``; returns the settled time (ns)."""
        self._make_safe()
        return self._wait(self.settle_s)

    def _make_safe(self) -> None:
        """Show an all-dark image (no wait); :meth:`close` does this first."""
        self._hw("blank", self._blank_hw)
        self.shown = np.zeros(self.shape, np.float32)

    def state(self) -> dict[str, object]:
        """A short description for ``osclc bench check``."""
        return {
            "shape": self.shape, "pitch_m": self.pitch_m, "encoding": self.encoding, "bit_depth": self.bit_depth,
            "settle_s": self.settle_s, "shows": self.shows, "closed": self.closed,
        }

    @abstractmethod
    def _show_hw(self, values: np.ndarray) -> None:
        """Send device values (float32 in [0, 1], :attr:`shape`) to the device; the device quantises them."""

    @abstractmethod
    def _blank_hw(self) -> None:
        """Show an all-dark image on the device."""
