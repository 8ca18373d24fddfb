"""Device time vs simulation compute: simulated devices charge configured device times to the bench clock and
their own computation to the clock's simulation-compute account (osclc.drivers.clock.Clock.overlap)."""

from __future__ import annotations

import numpy as np
import pytest

import osclc.drivers.backends as backends
import osclc.drivers.clock as clock_module
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.clock import VirtualClock
from osclc.drivers.sim.optics import SimulatedBench

MS = 1_000_000


class ComputeCountingClock(VirtualClock):
    """A virtual clock that, like a real one, counts host compute: a test's "compute" is a sleep on it."""

    counts_compute = True


@pytest.fixture
def counting_clock(monkeypatch: pytest.MonkeyPatch) -> ComputeCountingClock:
    clock = ComputeCountingClock(start_ns=0)
    monkeypatch.setattr(clock_module.time, "perf_counter_ns", clock.now_ns)  # host time is this clock's time
    monkeypatch.setattr(backends, "make_clock", lambda kind: clock)
    return clock


def test_overlap_charges_compute_and_its_overrun(counting_clock: ComputeCountingClock) -> None:
    result, end = counting_clock.overlap(0.010, lambda: counting_clock.sleep(0.025) or "frame")
    assert (result, end) == ("frame", 10 * MS)
    assert counting_clock.compute_ns == 25 * MS and counting_clock.overrun_ns == 15 * MS
    _, end = counting_clock.overlap(0.010, lambda: counting_clock.sleep(0.004))  # hidden inside the device time
    assert end == 35 * MS and counting_clock.now_ns() == 35 * MS
    assert counting_clock.compute_ns == 29 * MS and counting_clock.overrun_ns == 15 * MS


def test_virtual_clock_never_counts_overrun() -> None:
    clock = VirtualClock(start_ns=0)
    _, end = clock.overlap(0.002, lambda: np.fft.fft2(np.ones((64, 64))))
    assert end == 2 * MS and clock.now_ns() == 2 * MS and clock.overrun_ns == 0 and clock.compute_ns > 0


def test_simulated_devices_stamp_device_time_not_compute(counting_clock: ComputeCountingClock,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The input's 10 ms settle is 10 ms on the device clock even when the simulator computes 15 ms (the demo's
    input stage read 19.5 ms against its 10 ms settle before); the excess is the overrun, not device time."""
    for name in ("set_input", "set_slm", "frame"):
        original = getattr(SimulatedBench, name)

        def slow(self: SimulatedBench, *args: object, _original=original, **kwargs: object) -> object:
            counting_clock.sleep(0.015)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(SimulatedBench, name, slow)
    cfg = BenchConfig.model_validate({"input": {"settle_s": 0.010}, "slm": {"settle_s": 0.020, "refresh_hz": 60.0},
                                      "camera": {"exposure_s": 0.002, "readout_s": 0.001}})
    with open_bench(cfg, emission=True) as bench:
        t0 = bench.clock.now_ns()
        settled = bench.input.show(np.full(bench.input.shape, 0.5))
        assert settled - t0 == 10 * MS
        t1 = bench.clock.now_ns()
        assert bench.slm.display(np.zeros(bench.slm.shape, np.uint8)) - t1 == 20 * MS  # 15 ms hidden in the switch
        t2 = bench.clock.now_ns()
        frame = bench.camera.capture(timeout_s=1.0)
        assert frame.t_exposure_start_ns == t2 and frame.t_exposure_end_ns - t2 == 2 * MS
        assert bench.clock.overrun_ns == (5 + 0 + 12) * MS  # input 15 - 10, SLM none, camera 15 - 3
        assert bench.clock.compute_ns >= 45 * MS
