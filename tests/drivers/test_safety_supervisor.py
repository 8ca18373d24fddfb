"""The laser's safety supervisor: SIGKILL the process driving the bench while it lases, and the watchdog
switches emission off through the laser's real protocol (the VISA SCPI laser and the serial OBIS).

The simulated lasers must outlive the killed process to show anything: the VISA laser keeps its state in
a shared file (``laser.options.sim_state``, :mod:`osclc.drivers.sim.visa_shared`) and the OBIS is served
on a pseudo-terminal by this test process. Both are read back through their protocols by sessions of
this test, independent of the bench and of the watchdog.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

if os.name != "posix":  # pragma: no cover
    pytest.skip("the supervisor tests need POSIX signals and pseudo-terminals", allow_module_level=True)

pyvisa = pytest.importorskip("pyvisa")
pytest.importorskip("pyvisa_sim")

from osclc.drivers.bench import open_bench  # noqa: E402
from osclc.drivers.safety.lock import lock_dir  # noqa: E402
from osclc.drivers.sim.obis import SimulatedObis  # noqa: E402
from osclc.drivers.sim.visa_shared import shared_sim_library  # noqa: E402
from osclc.drivers.vendors.visa_laser import resolve_visa_library  # noqa: E402

VISA = "TCPIP0::laser.sim::INSTR"
OFF_WITHIN_S = 1.0
"""The safety goal: emission off within this long after the owner died."""

OWNER = textwrap.dedent("""
    import json, os, sys, time
    from osclc.drivers.bench import open_bench
    with open_bench(json.loads(sys.argv[1]), emission=True) as bench:
        child = os.fork() if "--fork" in sys.argv else None  # a child forked without exec inherits every descriptor
        if child == 0:
            time.sleep(120)
            os._exit(0)
        print(json.dumps({"supervisor": bench.supervisor.pid, "child": child}), flush=True)
        time.sleep(120)
""")


def visa_config(state) -> dict:
    return {"laser": {"backend": "visa", "resource": VISA, "timeout_s": 0.5, "max_power_mw": 50.0, "power_mw": 10.0,
                      "options": {"visa_library": "laser.yaml@sim", "protocol": "scpi", "sim_state": str(state)}}}


def obis_config(port: str) -> dict:
    return {"laser": {"backend": "serial", "resource": port, "timeout_s": 0.5, "max_power_mw": 50.0, "power_mw": 10.0,
                      "options": {"protocol": "obis", "expect_identity": "OBIS"}}}


def visa_probe(state):
    """This test's own SCPI session on the shared simulated VISA laser."""
    library = shared_sim_library(resolve_visa_library("laser.yaml@sim"), state)
    return pyvisa.ResourceManager(library).open_resource(VISA, write_termination="\n", read_termination="\n", timeout=500)


def _start_owner(config: dict, *args: str) -> tuple[subprocess.Popen, int]:
    owner = subprocess.Popen([sys.executable, "-c", OWNER, json.dumps(config), *args], stdout=subprocess.PIPE, text=True)
    line = owner.stdout.readline()
    assert line, f"the bench owner ended early (exit {owner.wait()})"
    started = json.loads(line)
    owner.forked_child = started["child"]
    return owner, started["supervisor"]


def _kill(owner: subprocess.Popen) -> float:
    """SIGKILL the owner and reap it; returns the monotonic time just before the kill."""
    killed = time.monotonic()
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait(timeout=30)
    owner.stdout.close()
    return killed


def _wait_gone(pid: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    raise AssertionError(f"supervisor pid {pid} still running after {timeout_s} s")


def _poll_until(predicate, start: float, timeout_s: float) -> float:
    """Seconds from ``start`` until ``predicate()`` held (polling), or raise after ``timeout_s``."""
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"still emitting {timeout_s} s after the owner died")
        time.sleep(0.01)
    return time.monotonic() - start


def test_sigkill_of_the_owner_switches_the_visa_laser_off_through_scpi(tmp_path) -> None:
    state = tmp_path / "laser-state.json"
    probe = visa_probe(state)
    owner, supervisor = _start_owner(visa_config(state))
    try:
        assert probe.query("OUTP:STAT?") == "1"  # lasing, as the bench process left it
        died = _kill(owner)
        off_after_s = _poll_until(lambda: probe.query("OUTP:STAT?") == "0", died, OFF_WITHIN_S)
    finally:
        if owner.poll() is None:
            owner.kill()
    _wait_gone(supervisor)
    assert probe.query("OUTP:STAT?") == "0" and off_after_s <= OFF_WITHIN_S
    log = (lock_dir() / "laser-supervisor.log").read_text()
    assert f"owner pid {owner.pid} gone or unable to; laser 'visa laser' switched off (confirmed by its status)" in log
    print(f"VISA laser off {off_after_s * 1e3:.0f} ms after SIGKILL")


def test_sigkill_of_the_owner_switches_the_serial_laser_off_through_its_port() -> None:
    with SimulatedObis(max_power_mw=100.0) as sim:
        owner, supervisor = _start_owner(obis_config(sim.port))
        try:
            assert sim.emitting
            sent = len(sim.commands)
            died = _kill(owner)
            off_after_s = _poll_until(lambda: not sim.emitting, died, OFF_WITHIN_S)
        finally:
            if owner.poll() is None:
                owner.kill()
        _wait_gone(supervisor)
        assert "SOUR:AM:STAT OFF" in sim.commands[sent:]  # the watchdog's own command on the port
        from osclc.drivers.vendors.serial_laser import SerialLaser

        checker = SerialLaser("check", 50.0, sim.port, timeout_s=0.5)  # opening it switches off too: read first
        assert checker.status().emission is False
        checker.close()
    print(f"serial laser off {off_after_s * 1e3:.0f} ms after SIGKILL")


def test_sigkill_of_an_owner_whose_forked_child_lives_on_still_switches_the_laser_off() -> None:
    """The child holds the pipe's write end and the lock: the watchdog sees its parent pid change instead."""
    with SimulatedObis(max_power_mw=100.0) as sim:
        owner, supervisor = _start_owner(obis_config(sim.port), "--fork")
        try:
            assert sim.emitting
            died = _kill(owner)
            _poll_until(lambda: not sim.emitting, died, 30.0)
        finally:
            if owner.poll() is None:
                owner.kill()
            os.kill(owner.forked_child, signal.SIGKILL)
        _wait_gone(supervisor)
        assert "inherited from owner pid" in (lock_dir() / "laser-supervisor.log").read_text()


def test_a_bench_left_safe_stops_its_supervisor_without_touching_the_laser(tmp_path) -> None:
    with SimulatedObis(max_power_mw=100.0) as sim:
        with open_bench(obis_config(sim.port), emission=True) as bench:
            supervisor = bench.supervisor
            assert supervisor is not None and supervisor.process.poll() is None
        assert supervisor.process.wait(timeout=30) == 0
        sent = len(sim.commands)
        sim.emission_setting = True  # a later owner switches it on: the old watchdog must not interfere
        time.sleep(0.3)
        assert sim.commands[sent:] == [] and sim.emitting


def test_in_process_simulated_lasers_need_no_supervisor() -> None:
    with open_bench({}, emission=True) as bench:
        assert bench.supervisor is None
    with open_bench({"laser": {"backend": "serial", "options": {"simulator": "obis"}}}) as bench:
        assert bench.supervisor is None


def test_the_supervisor_waits_for_a_new_owner_instead_of_switching_its_laser_off(tmp_path) -> None:
    """After the owner's death a new process that already holds the laser keeps it: the watchdog leaves it alone."""
    with SimulatedObis(max_power_mw=100.0) as sim:
        owner, supervisor = _start_owner(obis_config(sim.port))
        os.kill(supervisor, signal.SIGSTOP)  # the watchdog is slow to react ...
        try:
            _kill(owner)
            with open_bench(obis_config(sim.port), emission=True) as bench:  # ... and a new owner takes the laser
                os.kill(supervisor, signal.SIGCONT)
                _wait_gone(supervisor)
                assert sim.emitting and bench.laser.status().emission
        finally:
            if owner.poll() is None:
                owner.kill()
            with contextlib.suppress(ProcessLookupError):
                os.kill(supervisor, signal.SIGCONT)
