"""The laser source: identity, power (mW) refused above the configured maximum, emission, status.

A backend implements ``_identity_hw``, ``_set_power_hw``, ``_power_hw``, ``_set_emission_hw``,
``_status_hw`` and optionally ``_close_hw``. :meth:`Laser.close` always turns emission off first.

The power limit is fixed when the laser opens: :attr:`Laser.max_power_mw` is read-only, and the value
:meth:`Laser.set_power_mw` enforces is kept outside the instance (neither ``laser.__dict__`` nor a
private attribute can raise it); changing the bench config after opening changes nothing either.
"""

from __future__ import annotations

import math
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from numbers import Real

from osclc.drivers.clock import Clock
from osclc.drivers.device import Device
from osclc.drivers.errors import InterlockOpen, InvalidSetting
from osclc.drivers.retry import RetryPolicy


@dataclass
class LaserStatus:
    """``emission`` on/off, set ``power_mw`` (mW), ``interlock_closed`` (True = safe to emit), active ``faults``."""

    emission: bool
    power_mw: float
    interlock_closed: bool
    faults: list[str] = field(default_factory=list)


_POWER_LIMITS_MW: "weakref.WeakKeyDictionary[Laser, float]" = weakref.WeakKeyDictionary()
"""Each open laser's power limit (mW), set once in :meth:`Laser.__init__`; nothing else writes it."""


class Laser(Device, ABC):
    """A laser whose power may never be set above ``max_power_mw`` (mW, from the bench config, fixed at opening).

    ``outlives_process``: the laser keeps emitting when this process dies (a real instrument, or a simulator
    served by another process); a bench then starts a safety supervisor for it. In-process simulators set it False.
    """

    kind = "laser"
    outlives_process: bool = True

    def __init__(self, name: str, max_power_mw: float, clock: Clock | None = None, retry: RetryPolicy | None = None) -> None:
        super().__init__(name, clock, retry)
        if isinstance(max_power_mw, (bool, str)) or not (isinstance(max_power_mw, Real) and math.isfinite(max_power_mw)
                                                           and max_power_mw > 0):
            raise InvalidSetting(f"laser {name!r}: max_power_mw must be a finite number > 0 mW, got {max_power_mw!r}")
        if self in _POWER_LIMITS_MW:
            raise InvalidSetting(f"laser {name!r}: the power limit is fixed when the laser opens")
        _POWER_LIMITS_MW[self] = float(max_power_mw)

    @property
    def max_power_mw(self) -> float:
        """The highest power (mW) :meth:`set_power_mw` accepts; fixed when the laser opens."""
        return _POWER_LIMITS_MW[self]

    @max_power_mw.setter
    def max_power_mw(self, value: float) -> None:
        raise AttributeError(f"{self._label()}: max_power_mw is fixed at {self.max_power_mw:g} mW when the laser opens; "
                             "change laser.max_power_mw in the bench config and open the bench again")

    def identity(self) -> str:
        """The instrument's identification string (``*IDN?`` or equivalent)."""
        return self._hw("read its identity", self._identity_hw)

    def set_power_mw(self, mw: float) -> None:
        """Set the output power (mW); refused (InvalidSetting) when NaN, negative or above ``max_power_mw``."""
        self._set_number("set the power", self._set_power_hw, "power_mw", mw, 0.0, self.max_power_mw,
                         "mW (the bench's max_power_mw)")

    def power_mw(self) -> float:
        """The power setpoint the laser reports (mW)."""
        return float(self._hw("read the power", self._power_hw))

    def set_emission(self, on: bool) -> None:
        """Turn emission on or off; turning it on with the interlock open raises InterlockOpen (laser stays off)."""
        if on:
            status = self.status()
            if not status.interlock_closed:
                raise InterlockOpen(f"{self._label()}: the safety interlock is open; close it before turning emission on", self.name)
        self._hw("switch emission", lambda: self._set_emission_hw(bool(on)))

    def status(self) -> LaserStatus:
        """Emission, power, interlock and faults as the laser reports them."""
        return self._hw("read its status", self._status_hw)

    def _make_safe(self) -> None:
        """Turn emission off; :meth:`close` always attempts this first."""
        self._hw("switch emission off", lambda: self._set_emission_hw(False))

    def state(self) -> dict[str, object]:
        """A short description for ``osclc bench check``."""
        status = self.status()
        return {"emission": status.emission, "power_mw": status.power_mw, "max_power_mw": self.max_power_mw,
                "interlock_closed": status.interlock_closed, "faults": status.faults}

    @abstractmethod
    def _identity_hw(self) -> str:
        """Query the identification string."""

    @abstractmethod
    def _set_power_hw(self, mw: float) -> None:
        """Send a validated power setpoint (mW)."""

    @abstractmethod
    def _power_hw(self) -> float:
        """Query the power setpoint (mW)."""

    @abstractmethod
    def _set_emission_hw(self, on: bool) -> None:
        """Switch emission on or off."""

    @abstractmethod
    def _status_hw(self) -> LaserStatus:
        """Query emission, power, interlock and faults."""
