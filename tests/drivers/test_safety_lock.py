"""One bench, one owner: devices are locked by what they are; the holder is named; a dead holder's lock is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.safety.lock import LOCK_DIR_ENV, BenchBusy, BenchLock, device_keys, lock_dir

HOLDER = textwrap.dedent("""
    import json, sys, time
    from osclc.drivers.bench import open_bench
    with open_bench(json.loads(sys.argv[1])) as bench:
        print("holding", flush=True)
        time.sleep(120)
""")


def _hold(config: dict, *args: str) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, json.dumps(config), *args], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def _stop(holder: subprocess.Popen) -> None:
    if holder.poll() is None:
        holder.kill()
    holder.wait(timeout=30)
    holder.stdout.close()


def test_a_second_process_is_refused_with_the_holders_pid_and_command() -> None:
    holder = _hold({}, "--marker-of-the-holder")
    try:
        with pytest.raises(BenchBusy) as refused:
            with open_bench(BenchConfig()):
                pass
        message = str(refused.value)
        assert f"pid {holder.pid}" in message and "--marker-of-the-holder" in message and "lock file" in message
    finally:
        _stop(holder)


def test_the_lock_of_a_killed_holder_is_taken_over() -> None:
    holder = _hold({})
    os.kill(holder.pid, signal.SIGKILL)
    _stop(holder)
    with open_bench(BenchConfig()) as bench:
        assert bench.camera.capture().image.shape == (256, 256)
    records = [json.loads(p.read_text()) for p in lock_dir().glob("*.lock")]
    assert records and all(r["pid"] == os.getpid() and r["previous"]["pid"] == holder.pid for r in records)


def test_one_process_cannot_open_the_same_bench_twice() -> None:
    with open_bench(BenchConfig()):
        with pytest.raises(BenchBusy, match=f"pid {os.getpid()}"):
            with open_bench(BenchConfig(name="another-name-for-the-same-bench")):
                pass
    with open_bench(BenchConfig()):  # released on exit
        pass


def test_keys_name_the_hardware_not_the_config(tmp_path) -> None:
    port = tmp_path / "ttyUSB0"
    port.touch()
    alias = tmp_path / "by-id-laser"
    alias.symlink_to(port)
    a = BenchConfig.model_validate({"name": "a", "laser": {"backend": "serial", "resource": str(port)}})
    b = BenchConfig.model_validate({"name": "b", "laser": {"backend": "serial", "resource": str(alias)}})
    c = BenchConfig.model_validate({"name": "a", "laser": {"backend": "serial", "resource": "/dev/ttyUSB7"}})
    assert device_keys(a) == device_keys(b)  # two names, one laser
    assert device_keys(a)["laser"] != device_keys(c)["laser"]  # one name, two lasers
    visa = BenchConfig.model_validate({"laser": {"backend": "visa", "resource": "USB0::1::2::3::INSTR"}})
    assert device_keys(visa)["laser"] == "visa:USB0::1::2::3::INSTR"
    screens = BenchConfig.model_validate({
        "slm": {"backend": "slmsuite", "options": {"slmsuite_class": "slmsuite.hardware.slms.screenmirrored.ScreenMirrored", "display_number": 2}},
        "input": {"backend": "slmsuite", "options": {"slmsuite_class": "slmsuite.hardware.slms.screenmirrored.ScreenMirrored", "display_number": 1}}})
    keys = device_keys(screens)
    assert keys["slm"] != keys["input"] and "display_number" in keys["slm"]


def test_the_lock_folder_comes_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path / "elsewhere"))
    with BenchLock({"laser": "serial:/dev/ttyUSB9"}) as lock:
        assert lock.folder == tmp_path / "elsewhere" and lock.held
        assert len(list((tmp_path / "elsewhere").glob("*.lock"))) == 1
    assert not lock.held
