"""Opening a bench: the devices of a :class:`BenchConfig`, left safe on every exit path.

``with open_bench(config) as bench:`` opens the laser (emission off, power set), the input modulator,
the SLM and the camera through :mod:`osclc.drivers.backends`. However the block ends (normally, by an
exception in user code, by Ctrl-C, or by SIGTERM, which is turned into :class:`BenchInterrupted`), the
laser emission is switched off first, then the SLM and input are blanked, the camera stopped, and
every device closed. A cleanup step that fails does not stop the next ones.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from osclc.drivers.backends import BenchShared, create_device
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.camera import Camera
from osclc.drivers.clock import Clock
from osclc.drivers.errors import DeviceError
from osclc.drivers.input_modulator import InputModulator
from osclc.drivers.laser import Laser
from osclc.drivers.slm import SLM


class BenchInterrupted(KeyboardInterrupt):
    """SIGTERM arrived while a bench was open (handled like Ctrl-C: the bench is made safe, then it propagates)."""


@dataclass
class Bench:
    """An open bench: ``laser``, ``input``, ``slm``, ``camera``, its ``config``, ``clock`` and ``shared`` state."""

    config: BenchConfig
    clock: Clock
    laser: Laser
    input: InputModulator
    slm: SLM
    camera: Camera
    shared: BenchShared

    @property
    def simulation(self) -> Any:
        """The :class:`~osclc.drivers.sim.optics.SimulatedBench` behind simulated devices (None on a real bench)."""
        return self.shared.extras.get("simulation")

    @property
    def truth(self) -> Any:
        """Hidden imperfections of a simulated bench, for tests only (calibration code never reads it)."""
        if self.simulation is None:
            raise LookupError(f"bench {self.config.name!r} has no simulated optics, so no truth to read")
        return self.simulation.truth

    def devices(self) -> dict[str, Any]:
        """Devices by config section name."""
        return {"laser": self.laser, "input": self.input, "slm": self.slm, "camera": self.camera}

    def make_safe(self) -> list[str]:
        """Laser off, SLM and input blanked, camera stopped; returns what failed (each step is attempted)."""
        steps: list[tuple[str, Any, Callable[[], Any]]] = [
            ("switch the laser emission off", self.laser, lambda: self.laser.set_emission(False)),
            ("blank the SLM", self.slm, self.slm.blank),
            ("blank the input modulator", self.input, self.input.blank),
            ("stop the camera", self.camera, self.camera.stop),
        ]
        return _attempt_all((what, device, fn) for what, device, fn in steps if not device.closed)

    def close(self) -> list[str]:
        """Make safe, then close every device (laser last); returns what failed."""
        problems = self.make_safe()
        order = (self.camera, self.slm, self.input, self.laser)
        problems += _attempt_all((f"close {device.kind} {device.name!r}", device, device.close) for device in order)
        return problems


def _attempt_all(steps: Any) -> list[str]:
    problems = []
    for what, _device, fn in steps:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - cleanup must go on; every failure is reported
            problems.append(f"could not {what}: {type(exc).__name__}: {exc}")
    return problems


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise BenchInterrupted(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _open_devices(config: BenchConfig, shared: BenchShared) -> Bench:
    opened: dict[str, Any] = {}
    try:
        for kind in ("laser", "input", "slm", "camera"):
            opened[kind] = create_device(kind, shared)
            if kind == "laser":
                opened[kind].set_emission(False)
                opened[kind].set_power_mw(config.laser.power_mw)
    except BaseException:
        for kind in ("laser", "camera", "slm", "input"):
            if kind in opened:
                with contextlib.suppress(Exception):
                    opened[kind].close()
        raise
    bench = Bench(config, shared.clock, opened["laser"], opened["input"], opened["slm"], opened["camera"], shared)
    if bench.simulation is not None:
        bench.simulation.laser = bench.laser  # simulated light follows the bench laser's emission and power
    return bench


@contextlib.contextmanager
def open_bench(config: BenchConfig | dict[str, Any], emission: bool = False) -> Iterator[Bench]:
    """Open every device of ``config`` (a BenchConfig or a dict validated as one), SLM and input blanked,
    laser at ``laser.power_mw`` with emission off (on when ``emission`` is True); always left safe and closed.

    Raises :class:`~osclc.drivers.errors.DeviceError` if the bench could not be made safe after a block
    that otherwise ended normally; after an exception, cleanup failures are added to its notes.
    """
    if not isinstance(config, BenchConfig):
        config = BenchConfig.model_validate(config)
    shared = BenchShared.from_config(config)
    with _sigterm_as_interrupt():
        bench = _open_devices(config, shared)
        problems: list[str] = []
        try:
            bench.slm.blank()
            bench.input.blank()
            if emission:
                bench.laser.set_emission(True)
            yield bench
        except BaseException as exc:
            problems = bench.close()
            for problem in problems:
                exc.add_note(f"bench {config.name!r} cleanup: {problem}")
            raise
        problems = bench.close()
        if problems:
            raise DeviceError(f"bench {config.name!r} could not be left safe: " + "; ".join(problems))
