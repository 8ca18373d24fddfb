"""The command line's exit paths on a bench whose laser outlives the process (the serial OBIS, served on a
pseudo-terminal by this test): every interrupting signal, a second Ctrl-C during the cleanup, a laser that
refuses to switch off, an interrupt during a long camera call in the loop, a transient fault in the cleanup
of a finished run, and unexpected exceptions.

The laser's state is read from the simulator (``sim.emitting``, ``sim.commands``), independently of the
command; the run's manifest says how each device was left (``safe_state``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

if os.name != "posix":  # pragma: no cover
    pytest.skip("the simulated OBIS needs a POSIX pseudo-terminal", allow_module_level=True)

from osclc.calibration.compiler.pipeline import compile_program  # noqa: E402
from osclc.calibration.compiler import fit_normalisation  # noqa: E402
from osclc.calibration.record import CalibrationRecord  # noqa: E402
from osclc.drivers.bench import open_bench  # noqa: E402
from osclc.drivers.bench_config import BenchConfig  # noqa: E402
from osclc.drivers.sim.obis import ObisFault, SimulatedObis  # noqa: E402
from osclc.lab.backend_files import save_backend  # noqa: E402
from osclc.lab.cli.main import main  # noqa: E402
from osclc.lab.runs import list_runs  # noqa: E402
from osclc.models.data.spec import load_dataset  # noqa: E402
from osclc.models.folding import fold  # noqa: E402
from osclc.models.networks.architecture import ClassificationArch, build_model  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

OBIS_LASER = {"backend": "serial", "resource": "", "timeout_s": 0.5, "max_power_mw": 50.0, "power_mw": 10.0,
              "options": {"protocol": "obis", "expect_identity": "OBIS"}}
SAFE = {"status": "ok", "name": "serial laser"}


def bench(port: str = "", **sections) -> dict:
    """The ideal simulated bench with the laser on the OBIS at ``port``; ``sections`` update the others."""
    config = {"kind": "bench", "laser": {**OBIS_LASER, "resource": port}}
    for key, value in sections.items():
        config[key] = value
    return config


def write(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def sim():
    with SimulatedObis(max_power_mw=100.0) as simulator:
        yield simulator


def _start(args: list[str], runs: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "osclc", "--runs-dir", str(runs), "--device", "cpu", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the command ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no {what} within {timeout_s} s")
        time.sleep(0.02)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


def _only_run(runs: Path) -> dict:
    (info,) = list_runs(runs)
    return info.manifest


def _all_safe(manifest: dict) -> bool:
    state = manifest["safe_state"]
    return all(state[kind]["status"] == "ok" for kind in ("laser", "slm", "input", "camera"))


# ---------------------------------------------------------------------- every signal


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_every_interrupting_signal_leaves_the_bench_safe_and_the_run_aborted(sim, tmp_path, signum: int) -> None:
    long_exposure = bench(sim.port, camera={"exposure_s": 8.0}, simulation={"clock": "real"}, timeout_s=30.0)
    proc = _start(["bench", "check", str(write(tmp_path / "bench.yaml", long_exposure))], tmp_path / "runs")
    _wait_for(lambda: sim.emitting, proc, "emission")  # the test frame's exposure has begun
    sent = len(sim.commands)
    proc.send_signal(signum)
    code, err = _finish(proc)
    name = signal.Signals(signum).name
    assert code == 130, err
    assert f"osclc bench check: interrupted (signal {name}); run " in err and "recorded as aborted" in err
    assert "the bench was left safe" in err and "NOT LEFT SAFE" not in err
    assert not sim.emitting and "SOUR:AM:STAT OFF" in sim.commands[sent:]
    assert "*IDN?" not in sim.commands[sent:]  # switched off by the command itself, not by its supervisor
    manifest = _only_run(tmp_path / "runs")
    assert manifest["status"] == "aborted" and manifest["error"] == f"Interrupted: signal {name}" and _all_safe(manifest)


def test_a_second_ctrl_c_during_the_cleanup_does_not_stop_it(sim, tmp_path) -> None:
    long_exposure = bench(sim.port, camera={"exposure_s": 8.0}, simulation={"clock": "real"}, timeout_s=30.0)
    proc = _start(["bench", "check", str(write(tmp_path / "bench.yaml", long_exposure))], tmp_path / "runs")
    _wait_for(lambda: sim.emitting, proc, "emission")
    sim.inject(ObisFault.NO_REPLY, "SOUR:AM:STAT OFF", times=1)  # the first switch-off hangs for its timeout ...
    sent = len(sim.commands)
    proc.send_signal(signal.SIGINT)
    _wait_for(lambda: "SOUR:AM:STAT OFF" in sim.commands[sent:], proc, "the cleanup")
    proc.send_signal(signal.SIGINT)  # ... and Ctrl-C is pressed again meanwhile
    code, err = _finish(proc)
    assert code == 130, err
    assert "the bench was left safe" in err and not sim.emitting
    manifest = _only_run(tmp_path / "runs")
    assert manifest["status"] == "aborted" and _all_safe(manifest)
    assert "no reply" in " ".join(manifest["safe_state"]["laser"]["recovered"])  # the fault, fixed by the second try


def test_a_laser_that_stays_on_is_never_reported_safe(sim, tmp_path) -> None:
    """Another error first (a capture timeout), then the laser refuses to switch off: both are reported, CLI and run."""
    slow = bench(sim.port, camera={"exposure_s": 5.0}, simulation={"clock": "real"})
    proc = _start(["bench", "check", str(write(tmp_path / "b.yaml", slow)), "--timeout-s", "1.0"], tmp_path / "runs")
    _wait_for(lambda: sim.emitting, proc, "emission")
    sim.inject(ObisFault.ERROR_REPLY, "SOUR:AM:STAT OFF")  # from now on the laser refuses to switch off
    code, err = _finish(proc)
    assert code == 1, err
    first, *rest = err.strip().splitlines()
    assert first.startswith("osclc bench check: DeviceTimeout: camera 'sim-camera'") and "left safe" not in err
    assert [line.split(": could not")[0] for line in rest] == ["osclc bench check: BENCH 'sim-ideal' NOT LEFT SAFE: laser 'serial laser'"]
    assert "could not switch the laser emission off: DeviceProtocolError" in rest[0] and "error 101" in rest[0]
    manifest = _only_run(tmp_path / "runs")
    assert manifest["status"] == "failed" and manifest["safe_state"]["laser"]["status"] == "failed"
    assert "could not switch the laser emission off" in manifest["safe_state"]["laser"]["error"]
    assert all(manifest["safe_state"][kind]["status"] == "ok" for kind in ("slm", "input", "camera"))
    assert sim.emitting  # the truth, as reported
    sim.inject(None)  # the fault clears: the supervisor, handed the laser, switches it off
    deadline = time.monotonic() + 30
    while sim.emitting and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not sim.emitting


# ---------------------------------------------------------------------- the loop


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    """A 2-channel student compiled for the OBIS bench, normalised on the ideal bench, its backend stored."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("program")
    student = build_model(ClassificationArch(variant="sclc", detector="intensity", channels=[2]), 1, 8, 10).eval()
    folded = fold(student)
    config = BenchConfig.model_validate(bench())
    compiled = compile_program(folded, CalibrationRecord.identity(config), config, multiplex="time")
    data = load_dataset("digits")
    with torch.no_grad():
        digital = folded.features(data.val.x[:8]).numpy()
    with open_bench(BenchConfig()) as ideal:
        fit_normalisation(ideal, compiled, digital, data.val.x[:8].numpy())
    compiled.save(folder)
    save_backend(folder, student.backend, {"source": "student"})
    return folder


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP])
def test_an_interrupt_during_a_long_camera_call_in_the_loop_is_an_interrupt(sim, program, tmp_path, signum: int) -> None:
    slow_camera = bench(sim.port, camera={"readout_s": 6.0}, simulation={"clock": "real"})
    loop = {"kind": "loop", "capture_timeout_s": 30.0, "shutdown_timeout_s": 0.5, "warmup_calls": 0}
    proc = _start(["infer", "--bench", str(write(tmp_path / "bench.yaml", slow_camera)), "--program", str(program),
                   "--dataset", "digits", "--limit", "4", "--loop", str(write(tmp_path / "loop.yaml", loop))], tmp_path / "runs")
    _wait_for(lambda: sim.emitting, proc, "emission")
    time.sleep(1.0)  # inside the first 6 s capture
    proc.send_signal(signum)
    code, err = _finish(proc)
    assert code == 130, err
    assert "without a timeout" not in err and "the bench was left safe" in err
    assert not sim.emitting
    manifest = _only_run(tmp_path / "runs")
    assert manifest["status"] == "aborted" and _all_safe(manifest)


def test_a_transient_fault_fixed_in_the_cleanup_keeps_a_finished_run(sim, program, tmp_path, capsys, monkeypatch) -> None:
    from osclc.drivers.errors import DeviceProtocolError
    from osclc.drivers.sim.camera import SimulatedCamera

    stops = []
    original = SimulatedCamera._stop_hw

    def stop_once_garbled(self) -> None:
        stops.append(1)
        if len(stops) == 1:
            raise DeviceProtocolError("camera 'sim-camera': garbled reply to 'stop acquisition' (injected)", self.name)
        original(self)

    monkeypatch.setattr(SimulatedCamera, "_stop_hw", stop_once_garbled)
    config = write(tmp_path / "bench.yaml", bench(sim.port))
    code = main(["--runs-dir", str(tmp_path / "runs"), "--device", "cpu", "infer", "--bench", str(config), "--program",
                 str(program), "--dataset", "digits", "--limit", "40"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "accuracy" in out and "over 40 images" in out and len(stops) == 2
    (info,) = list_runs(tmp_path / "runs")
    assert info.status == "completed" and _all_safe(info.manifest)
    assert "garbled reply" in info.manifest["safe_state"]["camera"]["recovered"][0]
    assert info.metrics()["accuracy"]["n"] == 40 and "latency" in info.metrics()
    assert not sim.emitting


# ---------------------------------------------------------------------- unexpected exceptions


def test_an_unexpected_exception_is_one_line_and_its_traceback_is_saved_in_the_run(tmp_path, capsys, monkeypatch) -> None:
    import osclc.lab.jobs.bench_check as bench_check

    def broken(bench) -> list:
        raise TypeError("unsupported operand type(s) for +: 'int' and 'NoneType'")

    monkeypatch.setattr(bench_check, "describe", broken)
    config = write(tmp_path / "bench.yaml", {"kind": "bench"})
    assert main(["--runs-dir", str(tmp_path / "runs"), "bench", "check", str(config)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    (info,) = list_runs(tmp_path / "runs")
    saved = info.folder / "traceback.txt"
    assert line == (f"osclc bench check: unexpected TypeError: unsupported operand type(s) for +: 'int' and 'NoneType' "
                    f"(full traceback: {saved}; --debug prints it); the bench was left safe (laser off, input and SLM "
                    "blanked, camera stopped)")
    assert "in broken" in saved.read_text() and info.manifest["traceback"] == "traceback.txt"
    assert info.status == "failed" and _all_safe_simulated(info.manifest)
    with pytest.raises(TypeError, match="unsupported operand"):
        main(["--runs-dir", str(tmp_path / "runs"), "--debug", "bench", "check", str(config)])


def _all_safe_simulated(manifest: dict) -> bool:
    return all(manifest["safe_state"][kind]["status"] == "ok" for kind in ("laser", "slm", "input", "camera"))


def test_an_unexpected_exception_without_a_run_saves_its_traceback_in_a_temporary_file(tmp_path, capsys, monkeypatch) -> None:
    import osclc.lab.cli.config_cmd as config_cmd

    def broken(path, kind=None):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(config_cmd, "load_config", broken)
    assert main(["config", "check", str(tmp_path / "any.yaml")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("osclc config check: unexpected ZeroDivisionError: division by zero (full traceback: ")
    saved = Path(line.split("full traceback: ")[1].split(";")[0])
    try:
        assert "ZeroDivisionError: division by zero" in saved.read_text()
    finally:
        saved.unlink()
