"""The pyvisa-sim laser with its state in a file, so that several processes talk to one simulated instrument.

A pyvisa-sim instrument lives inside the process that opened it: when that process dies, so does its
light, and no second process can see what it was doing. A real instrument outlives the program driving
it, which is exactly what the laser's safety supervisor is for. With ``laser.options.sim_state: PATH``
the VISA backend opens the shipped simulator through :class:`SharedStateSimLibrary`: the same YAML and
dialogues, but every property (power, emission, interlock) is read from and written to PATH (JSON, one
object per resource; readers and writers take an ``flock`` on ``PATH.lock``, writes replace the file
atomically). The bench, its supervisor (after the bench process is killed) and a test then each open
their own session, through the unchanged driver and protocol, on the same simulated laser.

A fresh state file means the YAML defaults; the error queue stays per session, as on a real instrument.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import Iterator

from pyvisa_sim import parser
from pyvisa_sim.component import Property
from pyvisa_sim.highlevel import SimVisaLibrary

STATE_SEPARATOR = "|state="
"""Joins the YAML path and the state file in the library path (pyvisa keeps one library object per path)."""


class StateFile:
    """Property values by resource in a JSON file at ``path`` (missing = the YAML defaults)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def get(self, resource: str, name: str) -> object | None:
        """The stored value of property ``name`` of ``resource``, or None when never set."""
        with self._locked(fcntl.LOCK_SH):
            return self._load().get(resource, {}).get(name)

    def set(self, resource: str, name: str, value: object) -> None:
        """Store ``value`` for property ``name`` of ``resource`` (atomic replace under an exclusive lock)."""
        with self._locked(fcntl.LOCK_EX):
            state = self._load()
            state.setdefault(resource, {})[name] = value
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(state), encoding="utf-8")
            os.replace(tmp, self.path)


class SharedProperty(Property):
    """A pyvisa-sim property whose value lives in a :class:`StateFile` (its YAML default until first set)."""

    def __init__(self, original: Property, store: StateFile, resource: str) -> None:  # noqa: D107 - no Property.__init__:
        self.name = original.name  # it would write the default into the shared file
        self.specs = original.specs
        self._value = original.get_value()
        self._store = store
        self._resource = resource

    def get_value(self) -> object:
        stored = self._store.get(self._resource, self.name)
        return self._value if stored is None else stored

    def set_value(self, string_value: str) -> None:
        self._store.set(self._resource, self.name, self.validate_value(string_value))


class SharedStateSimLibrary(SimVisaLibrary):
    """pyvisa-sim with every device property in a shared state file; its library path is ``<yaml>|state=<file>``."""

    def _init(self) -> None:
        yaml_path, _, state_path = str(self.library_path).partition(STATE_SEPARATOR)
        self.sessions: dict[int, object] = {}
        self.devices = parser.get_devices(yaml_path, False)
        store = StateFile(Path(state_path))
        for resource in self.devices.list_resources():
            device = self.devices[resource]
            device._properties = {name: SharedProperty(prop, store, resource) for name, prop in device._properties.items()}


def shared_sim_library(resolved: str, state_path: str | Path) -> SharedStateSimLibrary:
    """The shared-state library of pyvisa-sim spec ``resolved`` (``"<yaml path>@sim"``) and state file ``state_path``."""
    yaml_path = resolved.removesuffix("@sim")
    return SharedStateSimLibrary(f"{yaml_path}{STATE_SEPARATOR}{os.path.abspath(state_path)}")
