"""The loop against silent wrong results: a laser that stops mid-run (interlock) gives frames recorded lost with
cause ``no_light``, a ``degraded`` run and exit 1, never ``ok`` predictions; a normal run raises no false alarm;
``loop.backend_batch: 1`` works."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from osclc.calibration.compiler.pipeline import compile_program
from osclc.calibration.compiler import fit_normalisation
from osclc.calibration.compiler.exposure import TARGET_FULL_SCALE
from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.backend_files import save_backend
from osclc.lab.cli.main import main
from osclc.lab.loop.config import LoopConfig
from osclc.lab.loop.light_check import LIGHT_FRACTION, LightCheck, NoLight
from osclc.lab.loop.runner import run_loop
from osclc.lab.runs import Run, RunDegraded, read_run
from osclc.models.data.spec import load_dataset
from osclc.models.folding import fold
from osclc.models.networks.architecture import ClassificationArch, build_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CHANNELS = 4  # time multiplexing: one capture (and one laser status query by the simulated optics) per channel


def _bench(**simulation) -> BenchConfig:
    return BenchConfig.model_validate({"simulation": {"clock": "virtual", **simulation}})


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """A 4-channel student compiled for the ideal simulated bench, auto-exposed and normalised, saved with its backend."""
    torch.manual_seed(0)
    student = build_model(ClassificationArch(variant="sclc", detector="intensity", channels=[CHANNELS]), 1, 8, 10).eval()
    folded = fold(student)
    config = _bench()
    program = compile_program(folded, CalibrationRecord.identity(config), config, multiplex="time")
    data = load_dataset("digits")
    with torch.no_grad():
        digital = folded.features(data.val.x[:12]).numpy()
    with open_bench(config) as bench:
        fit_normalisation(bench, program, digital, data.val.x[:12].numpy())
    folder = program.save(tmp_path_factory.mktemp("program"))
    save_backend(folder, student.backend, {"source": "student"})
    return folder, program, student


def _test_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    data = load_dataset("digits")
    return data.test.x[:count].numpy(), data.test.y[:count].numpy()


def test_backend_batch_of_one_runs_and_matches_batching(compiled):
    """``backend_batch: 1`` ("no batching") used to crash the backend stage with a TypeError."""
    _, program, student = compiled
    images, labels = _test_images(10)
    outcomes = {}
    for batch in (1, 16):
        with open_bench(_bench()) as bench:
            outcomes[batch] = run_loop(bench, program, images, labels, LoopConfig(backend_batch=batch),
                                       backend=student.backend, progress=None)
    assert outcomes[1].lost == 0 and np.array_equal(outcomes[1].predictions, outcomes[16].predictions)


def test_light_threshold_is_a_fraction_of_the_calibrated_peak(compiled):
    """Independent computation of the threshold of pattern 0, and the check on both sides of it."""
    _, program, _ = compiled
    check = LightCheck.for_program(program, 4095, 10.0)
    assert check is not None
    used = program.sample_weight[0, program.pattern_channels[0]] != 0
    dark = program.tap_dark(0)[used]
    normalised = program.info["normalisation"]["exposure_s"][0]
    expected = LIGHT_FRACTION * (TARGET_FULL_SCALE * 4095 - dark.mean()) * program.exposure_s[0] / normalised
    assert check.thresholds[0] == pytest.approx(expected, rel=1e-12)
    tap = program.sample_index[0, program.pattern_channels[0]][used][0]
    image = program.dark_frame(0).copy()
    image.reshape(-1)[tap] += 0.99 * expected
    with pytest.raises(NoLight, match="pattern 0"):
        check.check(0, image)
    image.reshape(-1)[tap] += 0.02 * expected
    check.check(0, image)
    clipped = LightCheck.for_program(program, 4095, normalised)  # auto-exposure hit the longest exposure: unknown level
    assert clipped is not None and np.isnan(clipped.thresholds[0])
    program.info, saved = {}, program.info
    try:
        assert LightCheck.for_program(program, 4095, 10.0) is None  # never auto-exposed: nothing predicts the level
    finally:
        program.info = saved


def test_no_false_alarm_on_a_normal_noisy_run(compiled, tmp_path):
    _, program, student = compiled
    images, labels = _test_images(60)
    noisy = _bench(noise=True, quantize=True)
    noisy.camera.read_noise_e = 2.5
    noisy.camera.gain = 0.4
    with open_bench(noisy) as bench, Run.create("loop-test", root=tmp_path) as run:
        outcome = run_loop(bench, program, images, labels, LoopConfig(), backend=student.backend, run=run, progress=None)
    assert outcome.lost == 0 and outcome.lost_causes == {}
    info = read_run(run.folder)
    assert info.status == "completed" and all(row["status"] == "ok" for row in info.records("frames"))


def test_interlock_opening_mid_run_marks_dark_frames_lost_and_degrades_the_run(compiled, tmp_path):
    _, program, student = compiled
    images, labels = _test_images(12)
    config = _bench(faults={"interlock_opens_after_calls": 20})
    with pytest.raises(RunDegraded, match=r"lost without light"):
        with open_bench(config) as bench, Run.create("loop-test", root=tmp_path) as run:
            outcome = run_loop(bench, program, images, labels, LoopConfig(retries=1), backend=student.backend, run=run,
                               progress=None)
    rows = read_run(run.folder).records("frames")
    dark = [row for row in rows if row["status"] == "lost"]
    assert [row["index"] for row in rows] == list(range(12))
    assert 0 < len(dark) < 12 and outcome.lost_causes == {"no_light": len(dark)}
    first_dark = dark[0]["index"]
    assert [row["status"] for row in rows] == ["ok"] * first_dark + ["lost"] * (12 - first_dark)  # light never comes back
    assert all(row["prediction"] is None and row["lost"]["cause"] == "no_light" for row in dark)
    assert np.all(outcome.predictions[first_dark:] == -1)
    info = read_run(run.folder)
    assert info.status == "degraded" and f"{len(dark)} of 12 frames" in info.manifest["error"]


def test_infer_command_exits_1_naming_the_dark_frames(compiled, tmp_path, capsys):
    folder, _, _ = compiled
    bench_yaml = tmp_path / "bench.yaml"
    config = _bench(faults={"interlock_opens_after_calls": 20}).model_dump(mode="json")
    bench_yaml.write_text(yaml.safe_dump(config))
    runs = tmp_path / "runs"
    code = main(["--runs-dir", str(runs), "--device", "cpu", "infer", "--bench", str(bench_yaml), "--program", str(folder),
                 "--dataset", "digits", "--limit", "8"])
    err = capsys.readouterr().err
    assert code == 1
    (line,) = [line for line in err.splitlines() if line.startswith("osclc")]  # the rest is the progress bar
    assert "Traceback" not in err and "frames of stream 'frames' lost without light" in line
    (run_folder,) = [p for p in runs.iterdir() if p.is_dir()]
    info = read_run(run_folder)
    assert info.status == "degraded" and info.metrics()["lost_frames"] > 0



def test_infer_with_the_interlock_open_before_the_first_frame_ends_degraded_not_as_bad_input(compiled, tmp_path, capsys):
    """Found by the soak: with no completed frame the latency report refused the run as bad input (exit 2, failed)."""
    folder, _, _ = compiled
    bench_yaml = tmp_path / "bench.yaml"
    bench_yaml.write_text(yaml.safe_dump(_bench(faults={"interlock_opens_after_calls": 5}).model_dump(mode="json")))
    runs = tmp_path / "runs"
    code = main(["--runs-dir", str(runs), "--device", "cpu", "infer", "--bench", str(bench_yaml), "--program", str(folder),
                 "--dataset", "digits", "--limit", "4"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "nothing to measure" not in err
    (run_folder,) = [p for p in runs.iterdir() if p.is_dir()]
    info = read_run(run_folder)
    assert info.status == "degraded" and info.metrics()["lost_frames"] == 4
