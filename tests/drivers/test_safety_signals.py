"""Every interrupting signal leaves the bench safe; a second one during the cleanup waits for it to end;
an interrupt during a long capture in a worker thread stops the worker before the bench closes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig

HOLD_BENCH = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from osclc.drivers.bench import open_bench
    from osclc.drivers.bench_config import BenchConfig
    holder = {}
    try:
        with open_bench(BenchConfig(), emission=True) as bench:
            holder["bench"] = bench
            bench.slm.display(np.full(bench.slm.shape, 77, np.uint8))
            bench.input.show(np.ones(bench.input.shape))
            bench.camera.capture()
            print("ready", flush=True)
            time.sleep(60)
    except KeyboardInterrupt as exc:
        b = holder["bench"]
        print(json.dumps({"interrupted": str(exc), "emission": b.laser.emission, "slm_blank": not b.slm.displayed.any(),
                          "input_dark": not b.input.shown.any(), "acquiring": b.camera.acquiring,
                          "closed": [d.closed for d in b.devices().values()]}), flush=True)
        sys.exit(3)
""")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_every_interrupting_signal_leaves_the_bench_safe(tmp_path, signum: int) -> None:
    script = tmp_path / "hold_bench.py"
    script.write_text(HOLD_BENCH)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, err
    state = json.loads(out.strip().splitlines()[-1])
    assert state == {"interrupted": f"signal {signal.Signals(signum).name}", "emission": False, "slm_blank": True,
                     "input_dark": True, "acquiring": False, "closed": [True, True, True, True]}


def test_signal_handlers_are_restored() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)}
    with open_bench(BenchConfig()):
        assert all(signal.getsignal(s) is not handler for s, handler in before.items())
    assert {s: signal.getsignal(s) for s in before} == before


def _interrupt_during_laser_off(bench) -> None:
    """Make the laser's switch-off send this process a SIGINT first (a second Ctrl-C during the cleanup)."""
    original = bench.laser._set_emission_hw

    def set_emission(on: bool) -> None:
        if not on:
            os.kill(os.getpid(), signal.SIGINT)
        original(on)

    bench.laser._set_emission_hw = set_emission


def _assert_safe_and_closed(bench) -> None:
    assert bench.laser.emission is False
    assert not bench.slm.displayed.any() and not bench.input.shown.any()
    assert bench.camera.acquiring is False
    assert all(device.closed for device in bench.devices().values())


def test_a_second_interrupt_during_the_cleanup_waits_for_it_to_end() -> None:
    holder = {}
    with pytest.raises(KeyboardInterrupt) as raised:
        with open_bench(BenchConfig(), emission=True) as bench:
            holder["bench"] = bench
            bench.slm.display(np.full(bench.slm.shape, 77, np.uint8))
            bench.input.show(np.ones(bench.input.shape))
            bench.camera.capture()
            _interrupt_during_laser_off(bench)
            os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C
    _assert_safe_and_closed(holder["bench"])
    assert "SIGINT arrived during the cleanup" in " ".join(raised.value.__notes__)


def test_an_interrupt_during_the_cleanup_of_a_finished_block_is_raised_after_it() -> None:
    holder = {}
    with pytest.raises(KeyboardInterrupt, match="signal SIGINT"):
        with open_bench(BenchConfig(), emission=True) as bench:
            holder["bench"] = bench
            bench.camera.capture()
            _interrupt_during_laser_off(bench)
    _assert_safe_and_closed(holder["bench"])


def test_an_interrupt_stops_a_long_capture_in_a_worker_before_the_bench_closes() -> None:
    """The loop's situation: a worker thread is inside a long, bounded camera call when Ctrl-C arrives."""
    config = BenchConfig.model_validate({"camera": {"exposure_s": 8.0}, "simulation": {"clock": "real"}})
    capturing = threading.Event()
    worker_result = {}

    def capture(bench) -> None:
        capturing.set()
        try:
            bench.camera.capture(timeout_s=30.0)
            worker_result["outcome"] = "frame"
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            worker_result["outcome"] = type(exc).__name__
        worker_result["camera_closed_when_the_call_ended"] = bench.camera.closed

    with pytest.raises(KeyboardInterrupt):
        with open_bench(config, emission=True) as bench:
            worker = threading.Thread(target=capture, args=(bench,), name="capture-worker")
            worker.start()
            capturing.wait(30)
            threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
            worker.join()  # Ctrl-C lands here in the main thread
    worker.join(timeout=0)
    assert not worker.is_alive()
    assert worker_result == {"outcome": "CallAborted", "camera_closed_when_the_call_ended": False}
    _assert_safe_and_closed(bench)
