"""The pipelined loop with one camera exposure and frame count per mask: each capture at its mask's exposure,
the same features as the synchronous ``run_batch``, and the budget's exposure segment = the sum of the
captures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from osclc.calibration.compiler.pipeline import compile_program
from osclc.calibration.record import CalibrationRecord
from osclc.calibration.execute import prepare, run_batch
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.latency.budget import predict_budget
from osclc.lab.loop.runner import run_loop
from osclc.lab.loop.config import LoopConfig
from osclc.lab.runs import Run, read_run
from osclc.models.networks.architecture import ClassificationArch, build_model
from osclc.models.folding import fold

EXPOSURES_S = [1e-3, 3e-3, 0.4e-3]
FRAMES = [2, 1, 3]


def _config() -> BenchConfig:
    return BenchConfig.model_validate({
        "input": {"settle_s": 0.002},
        "slm": {"settle_s": 0.006, "refresh_hz": 200.0},
        "camera": {"readout_s": 0.001, "link_MBps": 200.0},
        "simulation": {"clock": "virtual"},
    })


@pytest.fixture(scope="module")
def program():
    """A 3-channel student compiled for time multiplexing, its masks at unequal exposures and frame counts."""
    torch.manual_seed(0)
    student = build_model(ClassificationArch(variant="sclc", detector="intensity", channels=[len(EXPOSURES_S)]), 1, 8, 10).eval()
    config = _config()
    compiled = compile_program(fold(student), CalibrationRecord.identity(config), config, multiplex="time")
    compiled.set_exposure(EXPOSURES_S)
    compiled.set_frames(FRAMES)
    return compiled


def test_loop_captures_each_mask_at_its_exposure_and_matches_run_batch(program, tmp_path) -> None:
    config = _config()
    images = np.random.default_rng(0).uniform(0, 1, (5, 1, 8, 8)).astype(np.float32)
    with open_bench(config) as bench:
        prepare(bench, program)
        expected = run_batch(bench, program, images)
        with Run.create("loop-test", config={}, root=tmp_path) as run:
            outcome = run_loop(bench, program, images, None, LoopConfig(), run=run, keep_features=True, progress=None)
    assert outcome.lost == 0 and outcome.features is not None
    np.testing.assert_allclose(outcome.features, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())
    budget = predict_budget(config, masks=len(EXPOSURES_S), exposure_s=program.exposure_s.tolist(), frames=FRAMES)
    rows, cols = config.camera.shape
    between = config.camera.readout_s + rows * cols * 2 / 200e6  # readout + transfer (12 bits in 2 bytes) between frames
    for row in read_run(run.folder).records("frames"):
        captures = row["captures"]
        assert [c["mask"] for c in captures] == [0, 1, 2] and [c["frames"] for c in captures] == FRAMES
        durations = [(c["exposure_end_ns"] - c["exposure_start_ns"]) / 1e9 for c in captures]
        np.testing.assert_allclose(durations, [n * e + (n - 1) * between for n, e in zip(FRAMES, EXPOSURES_S)], atol=5e-9)
        s = row["stamps_ns"]
        assert (s["exposure_end"] - s["exposure_start"]) / 1e9 == pytest.approx(
            budget.segments_s["exposure_start->exposure_end"], abs=3e-9)


def test_a_frame_dropped_while_averaging_is_retried_and_the_laser_ends_off(program) -> None:
    """Dropped frames (10 % of captures) in the middle of a mask's averaged frames: the loop retries the image,
    every image ends ok with the same features as a fault-free run, and closing leaves the laser off."""
    images = np.random.default_rng(1).uniform(0, 1, (6, 1, 8, 8)).astype(np.float32)
    with open_bench(_config()) as bench:
        prepare(bench, program)
        expected = run_batch(bench, program, images)
    faulty = _config().model_copy(deep=True)
    faulty.simulation.faults.seed = 5
    faulty.simulation.faults.camera.drop_probability = 0.1
    with open_bench(faulty) as bench:
        prepare(bench, program)
        assert bench.laser.emission is True
        outcome = run_loop(bench, program, images, None, LoopConfig(retries=10), keep_features=True, progress=None)
    assert outcome.lost == 0 and bench.camera._faults.injected.count("drop") > 0
    np.testing.assert_allclose(outcome.features, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())
    assert bench.laser.emission is False and all(device.closed for device in bench.devices().values())
