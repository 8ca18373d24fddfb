"""Injected faults of every simulated device: a clear error naming the device (or a retry), laser left off."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.errors import DeviceDisconnected, DeviceError, DeviceProtocolError, DeviceTimeout, FrameDropped


def _config(device: str, retry: int = 0, **faults) -> BenchConfig:
    return BenchConfig.model_validate({"retry": {"attempts": retry},
                                       "simulation": {"faults": {"seed": 7, device: faults}}})


def _pattern(bench) -> np.ndarray:
    return np.zeros(bench.slm.shape, np.uint8)


ACTIONS = {
    "camera": lambda bench: bench.camera.capture(timeout_s=0.5),
    "slm": lambda bench: bench.slm.display(_pattern(bench)),
    "input": lambda bench: bench.input.show(np.zeros(bench.input.shape)),
    "laser": lambda bench: bench.laser.identity(),
}
NAMES = {"camera": "camera 'sim-camera'", "slm": "SLM 'sim-slm'", "input": "input modulator 'sim-input'", "laser": "laser 'sim-laser'"}


@pytest.mark.parametrize("device", list(ACTIONS))
@pytest.mark.parametrize("fault, error", [("timeout_probability", DeviceTimeout), ("error_probability", DeviceProtocolError)])
def test_every_device_reports_injected_faults_by_name(device: str, fault: str, error: type) -> None:
    cfg = _config(device, **{fault: 1.0}, disconnect_after_calls=None)
    holder = {}
    with pytest.raises(DeviceError) as info:  # opening the bench itself may hit the fault (blank / power calls)
        with open_bench(cfg, emission=device != "laser") as bench:
            holder["bench"] = bench
            ACTIONS[device](bench)
    assert isinstance(info.value, error)
    assert NAMES[device] in str(info.value)
    if "bench" in holder:
        assert holder["bench"].laser.emission is False


@pytest.mark.parametrize("device", list(ACTIONS))
def test_transient_faults_are_retried_when_configured(device: str) -> None:
    cfg = _config(device, retry=6, error_probability=0.3)
    with open_bench(cfg, emission=True) as bench:
        for _ in range(8):
            ACTIONS[device](bench)
        target = {"camera": bench.camera, "slm": bench.slm, "input": bench.input, "laser": bench.laser}[device]
        assert target.retries > 0
    assert bench.laser.emission is False


def test_dropped_frames_raise_or_are_retried_and_leave_index_gaps() -> None:
    with pytest.raises(FrameDropped, match="camera 'sim-camera'.*frame lost"):
        with open_bench(_config("camera", drop_probability=1.0), emission=True) as bench:
            bench.camera.capture()
    assert bench.laser.emission is False
    with open_bench(_config("camera", retry=5, drop_probability=0.4), emission=True) as bench:
        indices = [bench.camera.capture().index for _ in range(10)]
    assert indices == sorted(indices) and indices[-1] > 9  # delivered in order, dropped ones missing
    assert bench.camera.retries == indices[-1] - 9


@pytest.mark.parametrize("device", ["camera", "slm", "input"])
def test_disconnect_mid_run_stops_with_a_clear_error_and_laser_off(device: str) -> None:
    cfg = _config(device, disconnect_after_calls=4)
    holder = {}
    with pytest.raises(DeviceDisconnected) as info:
        with open_bench(cfg, emission=True) as bench:
            holder["bench"] = bench
            for _ in range(10):
                ACTIONS[device](bench)
    assert NAMES[device] in str(info.value) and "disconnected" in str(info.value)
    assert holder["bench"].laser.emission is False
    assert any("cleanup" in note for note in getattr(info.value, "__notes__", []))  # the dead device could not be blanked/stopped


def test_disconnects_are_never_retried() -> None:
    with pytest.raises(DeviceDisconnected):
        with open_bench(_config("slm", retry=5, disconnect_after_calls=2)) as bench:
            for _ in range(5):
                bench.slm.display(_pattern(bench))
    assert bench.slm.retries == 0


def test_interlock_opening_mid_run_stops_emission() -> None:
    cfg = BenchConfig.model_validate({"simulation": {"faults": {"interlock_opens_after_calls": 6}}})
    with open_bench(cfg, emission=True) as bench:
        statuses = [bench.laser.status() for _ in range(4)]
        assert statuses[0].emission is True
        assert statuses[-1].emission is False and statuses[-1].interlock_closed is False
        assert statuses[-1].faults == ["interlock open"]
        dark = bench.camera.capture().image
        assert not dark.any()  # no light reaches the camera once the interlock has cut emission


def test_fault_draws_are_reproducible() -> None:
    def run() -> list[str]:
        outcome = []
        try:
            with open_bench(_config("camera", timeout_probability=0.2, error_probability=0.2)) as bench:
                for _ in range(20):
                    try:
                        bench.camera.capture(timeout_s=0.5)
                        outcome.append("ok")
                    except DeviceError as exc:
                        outcome.append(type(exc).__name__)
        except DeviceError as exc:  # stopping the camera may fail too: part of the reproducible outcome
            outcome.append(f"exit: {exc}")
        return outcome

    first = run()
    assert first == run() and {"ok", "DeviceTimeout", "DeviceProtocolError"} <= set(first)
