"""Run records: manifest contents, crash safety under SIGKILL, clean aborts, listing and errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from osclc.lab.cli.main import main
from osclc.lab.runs import Run, RunRecordError, find_run, iter_records, list_runs, read_run

WRITER = textwrap.dedent(
    """
    import sys, time
    from osclc.lab.runs import Run
    root, batches = sys.argv[1], int(sys.argv[2])
    with Run.create("writer", config={"batches": batches}, root=root) as run:
        print(run.folder, flush=True)
        for b in range(batches):
            run.append("frames", [{"batch": b, "i": i} for i in range(10)])
            print("committed", b + 1, flush=True)
            time.sleep(0.02)
    """
)


def _start_writer(root: Path, batches: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(batches)], stdout=subprocess.PIPE, text=True
    )


def test_manifest_has_provenance(tmp_path):
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    with Run.create("train", argv=["osclc", "train"], config={"lr": 0.1}, inputs={"model": model}, device="cpu") as run:
        run.append("epochs", [{"epoch": 0, "loss": 1.5}])
        run.set_metrics(accuracy=0.9)
        run.save_array("frame", np.arange(6).reshape(2, 3))
    info = read_run(run.folder)
    m = info.manifest
    assert m["status"] == "completed" and info.status == "completed"
    assert m["argv"] == ["osclc", "train"] and m["config"] == {"lr": 0.1} and m["device"] == "cpu"
    import hashlib

    assert m["inputs"]["model"]["sha256"] == hashlib.sha256(b"weights").hexdigest()
    for key in ("git", "versions", "host", "python", "started_utc", "ended_utc", "pid"):
        assert key in m
    assert m["versions"]["numpy"] == np.__version__
    assert info.records("epochs") == [{"epoch": 0, "loss": 1.5}]
    assert info.metrics() == {"accuracy": 0.9}
    assert np.array_equal(np.load(run.folder / "frame.npy"), np.arange(6).reshape(2, 3))


def test_exception_marks_failed(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with Run.create("x") as run:
            1 / 0
    m = read_run(run.folder).manifest
    assert m["status"] == "failed" and "ZeroDivisionError" in m["error"]


def test_sigkill_leaves_committed_records_readable_and_run_interrupted(tmp_path):
    root = tmp_path / "runs"
    proc = _start_writer(root, 10_000)
    folder = Path(proc.stdout.readline().strip())
    committed = 0
    while committed < 5:
        committed = int(proc.stdout.readline().split()[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    rows = list(iter_records(folder, "frames"))
    assert len(rows) >= committed * 10
    assert len(rows) % 10 == 0  # whole batches only
    assert [r["batch"] for r in rows[::10]] == list(range(len(rows) // 10))
    assert read_run(folder).status == "interrupted"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_end_run_as_aborted(tmp_path, signum):
    root = tmp_path / "runs"
    proc = _start_writer(root, 10_000)
    folder = Path(proc.stdout.readline().strip())
    proc.stdout.readline()
    proc.send_signal(signum)
    proc.wait(timeout=20)
    manifest = read_run(folder).manifest
    assert manifest["status"] == "aborted" and manifest["ended_utc"]
    assert len(list(iter_records(folder, "frames"))) >= 10


def test_concurrent_processes_never_collide(tmp_path):
    root = tmp_path / "runs"
    script = "import sys\nfrom osclc.lab.runs import Run\nfor _ in range(15):\n    Run.create('c', root=sys.argv[1]).finish('completed')\n"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(root)]) for _ in range(3)]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    runs = list_runs(root)
    assert len(runs) == 45 and len({r.run_id for r in runs}) == 45
    assert [r.run_id for r in runs] == sorted(r.run_id for r in runs)


def test_corrupt_manifest_errors_clearly_and_list_survives(tmp_path, capsys):
    root = tmp_path / "runs"
    good = Run.create("good", root=root)
    good.finish("completed")
    bad = Run.create("bad", root=root)
    bad.finish("completed")
    text = (bad.folder / "manifest.json").read_text()
    (bad.folder / "manifest.json").write_text(text[: len(text) // 2])
    with pytest.raises(RunRecordError, match="corrupt or truncated manifest"):
        read_run(bad.folder)
    assert main(["--runs-dir", str(root), "runs", "list"]) == 0
    out = capsys.readouterr().out
    assert good.run_id in out and "unreadable" in out
    assert main(["--runs-dir", str(root), "runs", "show", bad.run_id]) == 2
    assert "corrupt or truncated manifest" in capsys.readouterr().err


def test_runs_show_and_compare(tmp_path, capsys):
    root = tmp_path / "runs"
    with Run.create("a", config={"lr": 0.1, "epochs": 3}, root=root) as a:
        a.set_metrics(accuracy=0.91)
        a.append("frames", [{"i": 0}, {"i": 1}])
    with Run.create("b", config={"lr": 0.2, "epochs": 3}, root=root) as b:
        b.set_metrics(accuracy=0.95)
    assert main(["--runs-dir", str(root), "runs", "show", a.run_id[:22]]) == 0  # unique prefix
    out = capsys.readouterr().out
    assert "records  frames: 2" in out and "accuracy: 0.91" in out
    assert main(["--runs-dir", str(root), "runs", "compare", a.run_id, b.run_id]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "0.91" in out and "0.95" in out
    assert "lr" in out and "epochs" not in out  # only differing config keys
    with pytest.raises(RunRecordError, match="no run"):
        find_run("nope", root)


def test_runs_dir_env_and_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("OSCLC_RUNS_DIR", str(tmp_path / "env-runs"))
    run = Run.create("e")
    run.finish("completed")
    assert run.folder.parent == tmp_path / "env-runs"
    flagged = Run.create("f", root=tmp_path / "flag-runs")
    flagged.finish("completed")
    assert flagged.folder.parent == tmp_path / "flag-runs"
    assert json.loads((flagged.folder / "manifest.json").read_text())["status"] == "completed"
