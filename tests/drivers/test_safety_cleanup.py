"""Cleanup outcomes, device by device: a transient fault a retry fixes does not fail the bench; every failure is
reported to the listeners (run record, command line) with its error."""

from __future__ import annotations

import os

import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.errors import DeviceError, DeviceProtocolError
from osclc.drivers.safety.safe_state import SafeStateReport, listening

if os.name != "posix":  # pragma: no cover
    pytest.skip("the simulated OBIS needs a POSIX pseudo-terminal", allow_module_level=True)

from osclc.drivers.sim.obis import ObisFault  # noqa: E402


def _fail(device, hook: str, times: int = 1) -> list[str]:
    """Make ``device.<hook>`` raise a transient fault (a garbled reply) ``times`` times, then work again; returns the calls seen."""
    original = getattr(device, hook)
    calls: list[str] = []

    def flaky(*args):
        calls.append(hook)
        if len(calls) <= times:
            raise DeviceProtocolError(f"{device.name}: garbled reply (injected)", device.name)
        return original(*args)

    setattr(device, hook, flaky)
    return calls


@pytest.mark.parametrize("attempts", [0, 1])
@pytest.mark.parametrize("kind, hook", [("camera", "_stop_hw"), ("laser", "_set_emission_hw"), ("slm", "_blank_hw")])
def test_a_transient_fault_in_the_cleanup_that_a_retry_fixes_does_not_fail_the_bench(kind: str, hook: str, attempts: int) -> None:
    reports: list[SafeStateReport] = []
    with listening(reports.append):
        with open_bench(BenchConfig.model_validate({"retry": {"attempts": attempts}}), emission=True) as bench:
            bench.camera.capture()
            calls = _fail(getattr(bench, kind), hook)
    (report,) = reports
    assert report.ok and len(calls) >= 2
    state = report.as_dict()
    assert all(state[k]["status"] == "ok" for k in ("laser", "slm", "input", "camera"))
    if attempts == 0:  # the device's own retry policy did not absorb it: the cleanup's second try did, and says so
        assert "garbled reply (injected)" in " ".join(state[kind]["recovered"])
    assert bench.laser.emission is False and all(d.closed for d in bench.devices().values())


def obis_bench(sim_port: str) -> dict:
    """A bench whose laser is the serial driver on a simulated OBIS (hosted by this test process)."""
    return {"laser": {"backend": "serial", "resource": sim_port, "timeout_s": 0.2, "max_power_mw": 50.0, "power_mw": 10.0,
                      "options": {"expect_identity": "OBIS"}}}


def test_a_laser_refusing_to_switch_off_after_another_error_is_reported_per_device() -> None:
    from osclc.drivers.sim.obis import SimulatedObis

    reports: list[SafeStateReport] = []
    with SimulatedObis(max_power_mw=100.0) as sim, listening(reports.append):
        with pytest.raises(RuntimeError, match="user code failed") as raised:
            with open_bench(obis_bench(sim.port), emission=True) as bench:
                assert sim.emitting
                sim.inject(ObisFault.ERROR_REPLY, "SOUR:AM:STAT OFF")
                raise RuntimeError("user code failed")
        still_emitting = sim.emitting
        sim.inject(None)
        bench.supervisor.process.wait(timeout=30)  # handed over: the watchdog switches it off once the fault clears
        assert not sim.emitting
    assert still_emitting  # the truth: the bench could not switch it off, and every report says so
    (report,) = reports
    state = report.as_dict()
    assert state["laser"]["status"] == "failed"
    assert "could not switch the laser emission off: DeviceProtocolError" in state["laser"]["error"]
    assert all(state[k]["status"] == "ok" for k in ("slm", "input", "camera"))
    notes = " ".join(raised.value.__notes__)
    assert "could not switch the laser emission off" in notes


def test_a_failed_cleanup_after_a_normal_block_is_an_error_naming_the_device() -> None:
    reports: list[SafeStateReport] = []
    with listening(reports.append):
        with pytest.raises(DeviceError, match="could not be left safe: camera 'sim-camera': could not stop the camera"):
            with open_bench(BenchConfig(), emission=True) as bench:
                bench.camera.capture()
                _fail(bench.camera, "_stop_hw", times=1000)  # a camera that never stops
    assert reports[0].as_dict()["camera"]["status"] == "failed"
