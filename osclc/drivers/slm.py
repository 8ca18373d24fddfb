"""The phase-only SLM in the Fourier plane: displays integer gray levels (slmsuite habit: validate + time, then a hook).

A backend subclasses :class:`SLM` and implements ``_display_hw`` (send validated gray levels),
``_blank_hw`` (show the blank pattern, normally all zeros) and ``_close_hw`` (release the device).
Phases are turned into gray levels by the calibration LUT, never here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from osclc.drivers.clock import Clock
from osclc.drivers.device import Device
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.physics.timing import switch_time_s
from osclc.drivers.retry import RetryPolicy


def gray_dtype(bit_depth: int) -> np.dtype:
    """The integer dtype the gray levels of a ``bit_depth``-bit SLM are held and sent in: uint8 up to 8 bits, else uint16."""
    return np.dtype(np.uint8 if bit_depth <= 8 else np.uint16)


class SLM(Device, ABC):
    """Phase-only spatial light modulator.

    ``shape`` (rows, cols) pixels, ``pitch_m`` pixel pitch (m), ``bit_depth`` bits per gray level,
    ``settle_s`` time (s) from sending a pattern until the liquid crystal has settled,
    ``refresh_hz`` frame rate of its video input (Hz); a new pattern is waited for :attr:`switch_s`.
    ``displayed`` is a copy of the last gray levels sent.
    """

    kind = "SLM"
    simulated = False
    """True for a simulated backend: its hooks are the simulator's compute, which runs inside the device time
    (:meth:`osclc.drivers.clock.Clock.overlap`) rather than before it."""

    def __init__(
        self,
        name: str,
        shape: tuple[int, int],
        pitch_m: float,
        bit_depth: int,
        settle_s: float,
        refresh_hz: float = 60.0,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(name, clock, retry)
        self.settled_ns: int | None = None
        """Device time (ns) its last pattern settled: when its sync output pulses (a triggered camera starts then)."""
        self.shape = self._check_shape("shape", shape)
        self.bit_depth = self._check_bit_depth(bit_depth)
        self.pitch_m = self._check_number("pitch_m", pitch_m, 1e-7, 1e-3, "m")
        self.settle_s = self._check_number("settle_s", settle_s, 0.0, 10.0, "s")
        self.refresh_hz = self._check_number("refresh_hz", refresh_hz, 1e-3, 1e5, "Hz")
        self.displayed: np.ndarray | None = None
        self.displays = 0

    @property
    def switch_s(self) -> float:
        """Seconds :meth:`display` waits for a new pattern (:func:`osclc.drivers.physics.timing.switch_time_s`)."""
        return switch_time_s(self.settle_s, self.refresh_hz)

    @property
    def levels(self) -> int:
        """Number of gray levels, ``2**bit_depth``."""
        return 1 << self.bit_depth

    @property
    def dtype(self) -> np.dtype:
        """The integer dtype patterns are sent as (:func:`gray_dtype`)."""
        return gray_dtype(self.bit_depth)

    def validate(self, values: np.ndarray) -> np.ndarray:
        """``values`` as a C-contiguous copy in :attr:`dtype`, or :class:`InvalidSetting` saying what is wrong."""
        label = self._label()
        if not isinstance(values, np.ndarray):
            raise InvalidSetting(f"{label}: display values must be a numpy array of integer gray levels, got {type(values).__name__}")
        if values.shape != self.shape:
            raise InvalidSetting(f"{label}: pattern shape {values.shape} does not match the SLM shape {self.shape}")
        if values.dtype.kind not in "ui":
            raise InvalidSetting(
                f"{label}: pattern dtype {values.dtype} is not an integer type; convert phases to gray levels "
                f"(0..{self.levels - 1}) with the calibration LUT and pass an integer array"
            )
        lo, hi = int(values.min()), int(values.max())
        if lo < 0 or hi > self.levels - 1:
            raise InvalidSetting(f"{label}: gray levels span [{lo}, {hi}], outside 0..{self.levels - 1} of a {self.bit_depth}-bit SLM")
        return np.array(values, dtype=self.dtype, order="C", copy=True)

    def display(self, values: np.ndarray) -> int:
        """Show gray levels ``values`` (integer array of :attr:`shape`), wait :attr:`switch_s`; returns the settled time (ns)."""
        pattern = self.validate(values)
        settled = self.clock.send_and_settle(lambda: self._hw("display a pattern", lambda: self._display_hw(pattern)),
                                             self.switch_s, self.simulated)
        self.displayed = pattern
        self.displays += 1
        self.settled_ns = settled
        return settled

    def blank(self) -> int:
        """Show the blank pattern (all gray level 0), wait :attr:`switch_s`; returns the settled time (ns)."""
        self._make_safe()
        return self._wait(self.switch_s)

    def _make_safe(self) -> None:
        """Show the blank pattern (no wait); :meth:`close` does this first."""
        self._hw("blank", self._blank_hw)
        self.displayed = np.zeros(self.shape, self.dtype)

    def state(self) -> dict[str, object]:
        """A short description for ``osclc bench check``."""
        return {
            "shape": self.shape, "pitch_m": self.pitch_m, "bit_depth": self.bit_depth, "settle_s": self.settle_s,
            "refresh_hz": self.refresh_hz, "displays": self.displays,
            "blank": self.displayed is None or not bool(self.displayed.any()), "closed": self.closed,
        }

    @abstractmethod
    def _display_hw(self, values: np.ndarray) -> None:
        """Send validated gray levels (``dtype``, ``shape``) to the device; must not block past ~1 s."""

    @abstractmethod
    def _blank_hw(self) -> None:
        """Show the blank (all-zero) pattern on the device."""
