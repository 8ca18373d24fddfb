"""Run records: manifest contents, crash safety under SIGKILL, clean aborts, listing and errors."""

from __future__ import annotations

import _thread
import contextlib
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


def test_runs_show_on_corrupt_records_gives_one_line_and_the_rest(tmp_path, capsys):
    root = tmp_path / "runs"
    with Run.create("a", config={"lr": 0.1}, root=root) as run:
        run.append("frames", [{"i": 0}])
        run.set_metrics(accuracy=0.91)
    (run.folder / "records.sqlite").write_bytes(b"this is not an SQLite database" * 100)
    assert main(["--runs-dir", str(root), "runs", "show", run.run_id]) == 2
    captured = capsys.readouterr()
    err_lines = captured.err.strip().splitlines()
    assert len(err_lines) == 1 and "records.sqlite" in err_lines[0] and "not a database" in err_lines[0]
    assert "Traceback" not in captured.err
    assert run.run_id in captured.out and "accuracy: 0.91" in captured.out and "status   completed" in captured.out
    assert main(["--runs-dir", str(root), "runs", "list"]) == 0  # the run still lists
    with pytest.raises(RunRecordError, match="records.sqlite"):
        read_run(run.folder).records("frames")


class _Interrupter:
    """Arms one SIGINT (as from the keyboard) at point ``at`` of the next record write: every bytecode executed in
    the run-record and signal-holding modules is one point (a signal arriving during an SQL statement is delivered
    at the bytecode after it); ``points`` counts them."""

    WATCHED = ("osclc/lab/runs/records.py", "osclc/lab/runs/run.py", "osclc/storage/interrupts.py")

    def __init__(self, at: int | None) -> None:
        self.at, self.points = at, 0

    def _point(self) -> None:
        self.points += 1
        if self.points - 1 == self.at:
            _thread.interrupt_main()

    def _trace(self, frame, event, arg):
        if not frame.f_code.co_filename.replace("\\", "/").endswith(self.WATCHED):
            return None
        frame.f_trace_opcodes = True
        if event == "opcode":
            self._point()
        return self._trace

    def __enter__(self) -> "_Interrupter":
        sys.settrace(self._trace)
        return self

    def __exit__(self, *exc) -> None:
        sys.settrace(None)


def test_ctrl_c_at_every_point_of_a_record_write_commits_each_row_once(tmp_path):
    """#15 item 14: a Ctrl-C inside a record write left the transaction open (the loop's final flush then failed
    with sqlite3.OperationalError), wrote rows twice, or left the run's lock held. Now every buffered row is
    committed exactly once whichever bytecode or SQL statement the Ctrl-C lands on, and the store keeps working."""
    run = Run.create("w", root=tmp_path)
    run.append("frames", [{"trial": -1}])
    with _Interrupter(None) as probe:
        run.commit_buffer("frames", [{"trial": -1, "i": 0}])
    assert probe.points > 100
    expected = [{"trial": -1}, {"trial": -1, "i": 0}]
    for at in range(probe.points + 20):
        buffer = [{"trial": at, "i": i} for i in range(3)]  # what the loop's record writer holds
        expected += buffer
        interrupted = False
        try:
            with _Interrupter(at) as injected:
                run.commit_buffer("frames", buffer)
            for _ in range(3):  # a SIGINT that landed after the write is delivered here at the latest
                time.sleep(0)
        except KeyboardInterrupt:
            interrupted = True
        assert interrupted == (at < injected.points), f"SIGINT at point {at} of {injected.points}"
        run.commit_buffer("frames", buffer)  # the loop's final flush
        assert buffer == []
    run.finish("aborted", error="KeyboardInterrupt")
    assert list(iter_records(run.folder, "frames")) == expected
    assert read_run(run.folder).manifest["status"] == "aborted"


def test_exception_inside_a_record_transaction_rolls_back(tmp_path):
    import sqlite3

    run = Run.create("x", root=tmp_path)
    run.append("frames", [{"i": 0}])
    with pytest.raises(TypeError):
        run.append("frames", [{"i": object()}])  # not JSON: refused before the transaction
    with contextlib.closing(sqlite3.connect(run.folder / "records.sqlite")) as other:
        other.execute("CREATE TRIGGER refuse BEFORE INSERT ON records WHEN NEW.data LIKE '%bad%' "
                      "BEGIN SELECT RAISE(ABORT, 'refused'); END")
        other.commit()
    buffer = [{"i": 1}, {"i": "bad"}]
    with pytest.raises(sqlite3.IntegrityError, match="refused"):
        run.commit_buffer("frames", buffer)  # the second row fails after the first was inserted
    assert len(buffer) == 2  # nothing committed, nothing taken from the buffer
    run.append("frames", [{"i": 1}])  # the transaction was rolled back: the store takes the next one
    run.finish("completed")
    assert [r["i"] for r in iter_records(run.folder, "frames")] == [0, 1]
