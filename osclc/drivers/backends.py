"""Registry of device backends: ``BACKENDS[(kind, name)] = factory(section_config, shared) -> device``.

``kind`` is ``"laser"``, ``"input"``, ``"slm"`` or ``"camera"`` (the bench config section), ``name`` the
section's ``backend:`` value. A backend module registers its factories when imported::

    @register_backend("laser", "visa")
    def _open_visa_laser(section: LaserConfig, shared: BenchShared) -> Laser: ...

and :data:`BACKEND_MODULES` names the module to import for each backend name, so a bench only
imports the libraries it uses (add one line per new backend module).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel

from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.clock import Clock, make_clock
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.retry import RetryPolicy

DEVICE_KINDS = ("laser", "input", "slm", "camera")

BackendFactory = Callable[[BaseModel, "BenchShared"], Any]

BACKENDS: dict[tuple[str, str], BackendFactory] = {}
"""(device kind, backend name) -> factory(section_config, shared) returning an opened device."""

BACKEND_MODULES: dict[str, list[str]] = {
    "simulated": ["osclc.drivers.sim.laser", "osclc.drivers.sim.input_modulator", "osclc.drivers.sim.slm", "osclc.drivers.sim.camera"],
    "visa": ["osclc.drivers.vendors.laser_backends"],
    "serial": ["osclc.drivers.vendors.laser_backends"],
    "slmsuite": ["osclc.drivers.vendors.slmsuite_slm", "osclc.drivers.vendors.slmsuite_camera"],
}
"""backend name -> modules whose import registers its factories (H4 adds visa / serial / slmsuite)."""


@dataclass
class BenchShared:
    """What every factory of one bench shares: the config, the clock, the retry policy, and extras.

    ``extras`` holds objects backends share between devices (the simulated bench keeps its
    optical model under ``extras["simulation"]``; see :func:`osclc.drivers.sim.optics.shared_simulation`).
    """

    config: BenchConfig
    clock: Clock
    retry: RetryPolicy
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: BenchConfig) -> "BenchShared":
        """Clock from ``simulation.clock`` when the bench has simulated devices, else a real clock."""
        any_simulated = any(getattr(config, kind).backend == "simulated" for kind in DEVICE_KINDS)
        clock = make_clock(config.simulation.clock if any_simulated else "real")
        return cls(config, clock, RetryPolicy(config.retry.attempts, config.retry.backoff_s))


def register_backend(kind: str, name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Decorator registering ``factory`` as the backend ``name`` of device ``kind``."""
    if kind not in DEVICE_KINDS:
        raise ValueError(f"register_backend: kind must be one of {DEVICE_KINDS}, got {kind!r}")

    def decorate(factory: BackendFactory) -> BackendFactory:
        BACKENDS[(kind, name)] = factory
        return factory

    return decorate


def create_device(kind: str, shared: BenchShared) -> Any:
    """Open the ``kind`` device of ``shared.config`` through its registered backend."""
    section = getattr(shared.config, kind)
    name = section.backend
    if (kind, name) not in BACKENDS:
        for module in BACKEND_MODULES.get(name, []):
            importlib.import_module(module)
    factory = BACKENDS.get((kind, name))
    if factory is None:
        known = sorted(n for k, n in BACKENDS if k == kind) or ["none registered"]
        raise InvalidSetting(f"{kind}.backend: no {kind} backend {name!r} is available; registered: {', '.join(known)} "
                             f"(a backend module must be listed in osclc.drivers.backends.BACKEND_MODULES)")
    return factory(section, shared)
