"""Optical inference end to end on the simulated bench: records, timing against the budget, kill -9 and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.jobs.compile import CompileOptions, compile_student
from osclc.lab.jobs.context import JobContext
from osclc.lab.jobs.infer import InferOptions, InferResult, infer
from osclc.lab.loop.config import LoopConfig
from osclc.lab.loop.frame_record import BOUNDARIES
from osclc.lab.runs import read_run
from osclc.models.data.spec import load_dataset
from osclc.models.networks.architecture import ClassificationArch, build_model
from osclc.models.training.checkpoints import save_checkpoint

TIMED = {
    "input": {"settle_s": 0.002},
    "slm": {"settle_s": 0.006, "refresh_hz": 200.0},
    "camera": {"readout_s": 0.001, "link_MBps": 200.0},
}


def _bench(clock: str = "virtual", **sections) -> BenchConfig:
    data = {key: dict(value) for key, value in TIMED.items()}
    data["simulation"] = {"clock": clock}
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    return BenchConfig.model_validate(data)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """A 4-channel student compiled for the ideal simulated bench by the compile job, called from Python:
    normalised, checked, its backend stored."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("compiled")
    arch = ClassificationArch(variant="sclc", detector="intensity", channels=[4])
    student = build_model(arch, 1, 8, 10).eval()
    checkpoint = save_checkpoint(root / "student", student, {"arch": arch, "in_channels": 1, "image_size": 8,
                                                              "num_classes": 10, "dataset": "digits"})
    config = _bench()
    calibration = CalibrationRecord.identity(config).save(root / "calib.json")
    result = compile_student(
        CompileOptions(checkpoint=checkpoint, calibration=calibration, bench=config, out=root / "program", multiplex="time",
                       normalise_images=12, check_images=4),
        JobContext(runs_dir=root / "runs"),
    )
    assert min(result.check_correlation) > 0.98 and result.folder.parent == root / "runs"
    with torch.no_grad():
        expected = student(load_dataset("digits").test.x[:24]).argmax(1).numpy()
    return result.program_dir, expected, result.program


def _infer(config: BenchConfig, folder: Path, loop: LoopConfig, runs: Path, limit: int) -> InferResult:
    return infer(InferOptions(bench=config, program=folder, dataset="digits", loop=loop, limit=limit, baseline_repeat=3),
                 JobContext(runs_dir=runs, progress=False))


def test_infer_records_every_frame_in_order_and_matches_the_digital_student(compiled, tmp_path):
    folder, expected, program = compiled
    config = _bench()
    result = _infer(config, folder, LoopConfig(backend_batch=4), tmp_path, 24)
    info = read_run(result.folder)
    assert info.status == "completed"
    rows = info.records("frames")
    assert [r["index"] for r in rows] == list(range(24)) and all(r["status"] == "ok" for r in rows)
    labels = load_dataset("digits").test.y[:24].numpy()
    assert [r["label"] for r in rows] == labels.tolist()
    predictions = np.array([r["prediction"] for r in rows])
    assert np.mean(predictions == expected) >= 0.9  # ideal bench: optical == digital student
    for row in rows:
        stamps = [row["stamps_ns"][b] for b in BOUNDARIES]
        assert stamps == sorted(stamps)
        assert len(row["captures"]) == 4  # time multiplexing: one capture per output channel, masks cycled
        assert [c["mask"] for c in row["captures"]] == [0, 1, 2, 3]
    # virtual clock: the optical segments are exactly the simulated device times, i.e. the budget's
    budget = result.budget.segments_s
    for row in rows:
        s = row["stamps_ns"]
        for a, b in [("optical.start", "input_settled"), ("input_settled", "exposure_start"),
                     ("exposure_start", "exposure_end"), ("exposure_end", "received")]:
            assert (s[b] - s[a]) / 1e9 == pytest.approx(budget[f"{a}->{b}"], abs=2e-9)
    metrics = info.metrics()
    assert metrics["accuracy"]["n"] == 24 and metrics["lost_frames"] == 0
    for name in ("latency.md", "latency_hist.png", "latency_breakdown.png", "latency.json"):
        assert (result.folder / name).is_file()


def test_dropped_frames_are_retried_or_recorded_as_lost(compiled, tmp_path):
    folder, _, _ = compiled
    config = _bench(simulation={"faults": {"seed": 3, "camera": {"drop_probability": 0.1}}})
    result = _infer(config, folder, LoopConfig(retries=0), tmp_path, 20)
    rows = read_run(result.folder).records("frames")
    lost = [r for r in rows if r["status"] == "lost"]
    assert [r["index"] for r in rows] == list(range(20))  # nothing silently skipped
    assert lost and all(r["prediction"] is None and "FrameDropped" in r["lost"]["error"] for r in lost)
    assert result.metrics["lost_frames"] == len(lost)
    retried = _infer(config, folder, LoopConfig(retries=10), tmp_path, 20)
    rows = read_run(retried.folder).records("frames")
    assert all(r["status"] == "ok" for r in rows) and max(r["attempts"]["optical"] for r in rows) > 1


_CHILD = textwrap.dedent(
    """
    import contextlib, sys
    from pathlib import Path
    import osclc.lab.jobs.infer as job
    from osclc.drivers.bench_config import BenchConfig
    from osclc.lab.jobs.context import JobContext
    from osclc.lab.loop.config import LoopConfig
    opened = []
    original = job.open_bench

    @contextlib.contextmanager
    def spy(config, emission=False):
        with original(config, emission=emission) as bench:
            opened.append(bench)
            yield bench

    job.open_bench = spy
    config = BenchConfig.model_validate({"input": {"settle_s": 0.03}, "simulation": {"clock": "real"}})
    try:
        job.infer(job.InferOptions(bench=config, program=Path(sys.argv[1]), dataset="digits", limit=300,
                                   loop=LoopConfig(record_batch=1000, record_flush_interval_s=0.05)),
                  JobContext(runs_dir=sys.argv[2], progress=False))
    except KeyboardInterrupt:
        print("LASER_EMISSION", opened[0].laser.emission, flush=True)
        raise SystemExit(130)
    """
)


def _start_child(program: Path, runs: Path) -> tuple[subprocess.Popen, Path]:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(program), str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs_found = list(runs.glob("*/records.sqlite")) if runs.exists() else []
        if runs_found and _count(runs_found[0]) >= 5:
            return child, runs_found[0].parent
        if child.poll() is not None:
            raise AssertionError(f"child ended early: {child.communicate()}")
        time.sleep(0.1)
    child.kill()
    raise AssertionError("no frames recorded within 120 s")


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM records WHERE stream = 'frames'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_leaves_every_committed_frame_readable(compiled, tmp_path):
    folder, _, _ = compiled
    child, run_folder = _start_child(folder, tmp_path / "runs")
    seen = _count(run_folder / "records.sqlite")
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    child.communicate()
    info = read_run(run_folder)
    assert info.status == "interrupted"
    rows = info.records("frames")
    assert len(rows) >= seen >= 5
    assert [r["index"] for r in rows] == list(range(len(rows)))
    assert all(r["status"] == "ok" and r["prediction"] is not None and "done" in r["stamps_ns"] for r in rows)


def test_sigterm_aborts_the_run_with_the_laser_off(compiled, tmp_path):
    folder, _, _ = compiled
    child, run_folder = _start_child(folder, tmp_path / "runs")
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "LASER_EMISSION False" in out
    manifest = json.loads((run_folder / "manifest.json").read_text())
    assert manifest["status"] == "aborted"
    rows = read_run(run_folder).records("frames")
    assert len(rows) >= 5 and [r["index"] for r in rows] == list(range(len(rows)))


def test_infer_and_latency_commands(compiled, tmp_path, capsys):
    from osclc.lab.cli.main import main

    folder, _, _ = compiled
    bench_yaml = tmp_path / "bench.yaml"
    bench_yaml.write_text(yaml.safe_dump({"kind": "bench", **_bench().model_dump(mode="json", include={"input", "slm", "camera", "simulation"})}))
    runs = tmp_path / "runs"
    args = ["--runs-dir", str(runs), "--device", "cpu"]
    assert main([*args, "infer", "--bench", str(bench_yaml), "--program", str(folder), "--dataset", "digits", "--limit", "8"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "latency p50" in out
    (run_folder,) = [p for p in runs.iterdir() if p.is_dir()]
    assert main([*args, "latency", run_folder.name, "--repeat", "2"]) == 0
    assert "end to end" in capsys.readouterr().out
    assert main([*args, "infer", "--bench", str(bench_yaml), "--program", str(tmp_path / "none"), "--dataset", "digits"]) == 2
    assert "program.json" in capsys.readouterr().err
