"""What the cleanup of a bench gave, device by device, and who hears about it.

Every time a bench is left (normally, by an exception, by an interrupt), :func:`osclc.drivers.bench.open_bench`
publishes one :class:`SafeStateReport`: for each device, ``ok`` or ``failed`` with every error of its safe
step (laser emission off, SLM / input blanked, camera stopped) and of its closing. A fault that a second
attempt fixed leaves the device ``ok`` and is kept under ``recovered``. Listeners (the run record, the
command line) subscribe with :func:`listening`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

SAFE_ACTIONS = {"laser": "switch the laser emission off", "slm": "blank the SLM",
                "input": "blank the input modulator", "camera": "stop the camera"}
"""The safe step of each device kind, as the reports word it."""


@dataclass(frozen=True)
class DeviceSafeState:
    """One device after cleanup: ``ok`` when its safe step succeeded and it closed; ``errors`` otherwise,
    ``recovered`` the faults a second attempt fixed."""

    kind: str
    name: str
    errors: tuple[str, ...] = ()
    recovered: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the device ended safe and closed."""
        return not self.errors

    def as_dict(self) -> dict[str, object]:
        """``{"name", "status": "ok" | "failed", "error"?, "recovered"?}`` for a run manifest."""
        out: dict[str, object] = {"name": self.name, "status": "ok" if self.ok else "failed"}
        if self.errors:
            out["error"] = "; ".join(self.errors)
        if self.recovered:
            out["recovered"] = list(self.recovered)
        return out


@dataclass(frozen=True)
class SafeStateReport:
    """The cleanup of bench ``bench``: one :class:`DeviceSafeState` per device, laser first."""

    bench: str
    devices: tuple[DeviceSafeState, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when every device ended safe and closed."""
        return all(device.ok for device in self.devices)

    def problems(self) -> list[str]:
        """One line per failed device: what it could not do and why."""
        return [f"{device.kind} {device.name!r}: {'; '.join(device.errors)}" for device in self.devices if not device.ok]

    def as_dict(self) -> dict[str, object]:
        """``{"bench": name, "<kind>": DeviceSafeState.as_dict(), ...}`` for a run manifest."""
        return {"bench": self.bench, **{device.kind: device.as_dict() for device in self.devices}}


Listener = Callable[[SafeStateReport], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call ``listener(report)`` for every bench left while the block runs (in the thread that leaves it)."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def publish(report: SafeStateReport) -> list[str]:
    """Give ``report`` to every listener; returns the errors of listeners that failed (never raises)."""
    with _lock:
        listeners = list(_listeners)
    failures = []
    for listener in listeners:
        try:
            listener(report)
        except Exception as exc:  # noqa: BLE001 - a broken listener must not stop the cleanup report
            failures.append(f"{type(exc).__name__}: {exc}")
    return failures
