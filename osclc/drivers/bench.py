"""Opening a bench: the devices of a :class:`BenchConfig`, locked to this process and left safe on every exit path.

``with open_bench(config) as bench:`` locks the bench's devices (:mod:`osclc.drivers.safety.lock`; another
process holding one is refused with its pid and command), opens the laser (emission off, power set), the
input modulator, the SLM and the camera through :mod:`osclc.drivers.backends`, and starts the laser's safety
supervisor when the laser outlives this process (:mod:`osclc.drivers.safety.supervisor`: it switches the
laser off if this process dies, even by SIGKILL).

However the block ends (normally, by an exception in user code, or by SIGINT, SIGTERM, SIGHUP or SIGQUIT,
each raised as :class:`~osclc.drivers.safety.signals.Interrupted`), :meth:`Bench.shutdown` runs with further
signals deferred until it ends: every wait on the bench clock is cut short (a worker thread in a long
exposure stops), the laser emission goes off first, then the SLM and input are blanked and the camera
stopped, and every device is closed. A step that fails is tried once more, does not stop the next ones,
and is reported: a :class:`~osclc.drivers.safety.safe_state.SafeStateReport` goes to every listener (the
run record, the command line), and the errors are added to the exception's notes (or raised as a
DeviceError after a block that ended normally).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from osclc.drivers.backends import BenchShared, create_device
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.camera import Camera
from osclc.drivers.clock import Clock
from osclc.drivers.device import Device
from osclc.drivers.errors import DeviceError
from osclc.drivers.input_modulator import InputModulator
from osclc.drivers.laser import Laser
from osclc.drivers.safety.lock import BenchLock, device_keys
from osclc.drivers.safety.safe_state import SAFE_ACTIONS, DeviceSafeState, SafeStateReport, publish
from osclc.drivers.safety.signals import Interrupted, SignalGuard, describe
from osclc.drivers.safety.supervisor import Supervisor
from osclc.drivers.slm import SLM

SAFE_ORDER = ("laser", "slm", "input", "camera")
"""Order of the safe steps: the laser first."""
CLOSE_ORDER = ("camera", "slm", "input", "laser")
"""Order of closing: the laser last."""
ABORT_GRACE_S = 1.0
"""How long (s) the shutdown lets calls cut short by the clock abort end before it resumes the clock."""


@dataclass
class Bench:
    """An open bench: ``laser``, ``input``, ``slm``, ``camera``, its ``config``, ``clock``, ``shared`` state, and the
    laser's safety ``supervisor`` (None when the laser does not outlive this process)."""

    config: BenchConfig
    clock: Clock
    laser: Laser
    input: InputModulator
    slm: SLM
    camera: Camera
    shared: BenchShared
    supervisor: Supervisor | None = None

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

    def devices(self) -> dict[str, Device]:
        """Devices by config section name."""
        return {"laser": self.laser, "input": self.input, "slm": self.slm, "camera": self.camera}

    def shutdown(self) -> SafeStateReport:
        """Leave every device safe and closed (see the module docstring); returns how each one ended."""
        devices = self.devices()
        self.clock.abort()
        for device in devices.values():
            device.wait_idle(ABORT_GRACE_S)
        self.clock.resume()
        safe_errors = {kind: [] if devices[kind].closed else _attempt(devices[kind].make_safe) for kind in SAFE_ORDER}
        close_errors = {kind: _attempt(devices[kind].close) for kind in CLOSE_ORDER}  # closing redoes the safe step
        states = []
        for kind in SAFE_ORDER:
            first = [f"could not {SAFE_ACTIONS[kind]}: {error}" for error in safe_errors[kind]]
            if not close_errors[kind]:
                states.append(DeviceSafeState(kind, devices[kind].name, recovered=tuple(first)))
                continue
            again = [f"could not close it: {error}" for error in close_errors[kind] if error not in safe_errors[kind]]
            states.append(DeviceSafeState(kind, devices[kind].name, errors=tuple(first + again)))
        report = SafeStateReport(self.config.name, tuple(states))
        if self.supervisor is not None:
            if report.devices[0].ok:
                self.supervisor.stop()
            else:
                self.supervisor.hand_over()
        return report


def _attempt(step: Callable[[], object]) -> list[str]:
    """Run ``step``; returns its error as ``["<type>: <message>"]``, or ``[]`` when it succeeded."""
    try:
        step()
    except Exception as exc:  # noqa: BLE001 - cleanup must go on; every failure is reported
        return [f"{type(exc).__name__}: {exc}"]
    return []


def _open_devices(config: BenchConfig, shared: BenchShared, guard: SignalGuard) -> Bench:
    opened: dict[str, Any] = {}
    try:
        for kind in ("laser", "input", "slm", "camera"):
            opened[kind] = create_device(kind, shared)
            if kind == "laser":
                opened[kind].set_emission(False)
                opened[kind].set_power_mw(config.laser.power_mw)
    except BaseException:
        with guard.shielded():
            shared.clock.resume()
            for kind in ("laser", "camera", "slm", "input"):
                if kind in opened:
                    with contextlib.suppress(Exception):
                        opened[kind].close()
        raise
    bench = Bench(config, shared.clock, opened["laser"], opened["input"], opened["slm"], opened["camera"], shared)
    if bench.simulation is not None:
        bench.simulation.laser = bench.laser  # simulated light follows the bench laser's emission and power
    return bench


def _leave(bench: Bench) -> list[str]:
    """Shut the bench down and publish its report; returns every problem (devices, then listeners that failed)."""
    report = bench.shutdown()
    return report.problems() + [f"the safe-state report could not be recorded: {failure}" for failure in publish(report)]


@contextlib.contextmanager
def open_bench(config: BenchConfig | dict[str, Any], emission: bool = False) -> Iterator[Bench]:
    """Open every device of ``config`` (a BenchConfig or a dict validated as one), SLM and input blanked,
    laser at ``laser.power_mw`` with emission off (on when ``emission`` is True); always left safe and closed.

    Raises :class:`~osclc.drivers.safety.lock.BenchBusy` when another process holds a device of the bench,
    :class:`~osclc.drivers.errors.DeviceError` if the bench could not be made safe after a block that otherwise
    ended normally (after an exception, cleanup failures are added to its notes), and
    :class:`~osclc.drivers.safety.signals.Interrupted` for a signal that arrived during the cleanup.
    """
    if not isinstance(config, BenchConfig):
        config = BenchConfig.model_validate(config)
    shared = BenchShared.from_config(config)
    keys = device_keys(config)
    guard = SignalGuard(on_signal=lambda signum: shared.clock.abort())
    with guard, BenchLock(keys) as lock:
        bench = _open_devices(config, shared, guard)
        try:
            if bench.laser.outlives_process:
                bench.supervisor = Supervisor.start(config.laser, keys["laser"], lock.folder, config.retry.attempts)
            bench.slm.blank()
            bench.input.blank()
            if emission:
                bench.laser.set_emission(True)
            yield bench
        except BaseException as exc:
            with guard.shielded() as deferred:
                problems = _leave(bench)
            for problem in problems:
                exc.add_note(f"bench {config.name!r} cleanup: {problem}")
            if deferred:
                exc.add_note(f"bench {config.name!r}: {describe(deferred)} arrived during the cleanup and waited for it to end")
            raise
        with guard.shielded() as deferred:
            problems = _leave(bench)
        if problems:
            raise DeviceError(f"bench {config.name!r} could not be left safe: " + "; ".join(problems))
        if deferred:
            raise Interrupted(deferred[0])
