"""``osclc train`` / ``eval`` / ``experiment classification`` end to end on digits (1 epoch), and bad input -> exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from osclc.lab.cli.main import main
from osclc.lab.runs import read_run
from osclc.models.training.checkpoints import load_checkpoint


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _config(tmp_path: Path, name: str, **fields) -> Path:
    data = {"kind": "train", "dataset": "digits", "epochs": 1, "batch_size": 64,
            "optimiser": {"name": "adam", "lr": 0.01, "schedule": "cosine"}} | fields
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _runs() -> list[Path]:
    root = Path(os.environ["OSCLC_RUNS_DIR"])
    return sorted(p for p in root.iterdir() if p.is_dir())


def _new_run(before: list[Path]) -> Path:
    (run,) = [p for p in _runs() if p not in before]
    return run


def _same_weights(a: Path, b: Path) -> bool:
    ma, _ = load_checkpoint(a)
    mb, _ = load_checkpoint(b)
    sa, sb = ma.state_dict(), mb.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_train_teacher_then_student_with_kd_then_eval(tmp_path, capsys):
    assert main(["train", "teacher", "--config", str(_config(tmp_path, "t", arch={"variant": "teacher"})), "--no-progress"]) == 0
    (teacher_run,) = _runs()
    info = read_run(teacher_run)
    assert info.status == "completed" and info.manifest["config"]["arch"]["variant"] == "teacher"
    assert len(info.records("epochs")) == 1
    for name in ("loss.png", "accuracy.png", "confusion.png", "confusion.npy", "checkpoints/last/meta.json", "checkpoints/best/model.safetensors"):
        assert (teacher_run / name).is_file(), name
    metrics = info.metrics()
    assert metrics["n_test"] == 359 and metrics["test_accuracy_low"] < metrics["test_accuracy"] < metrics["test_accuracy_high"]
    assert metrics["test_accuracy"] > 0.5

    before = _runs()
    student_config = _config(tmp_path, "s", arch={"variant": "sclc", "detector": "intensity"}, kd={"alpha": 0.5, "temperature": 3.0})
    teacher_ckpt = teacher_run / "checkpoints" / "best"
    assert main(["train", "student", "--config", str(student_config), "--teacher", str(teacher_ckpt), "--no-progress"]) == 0
    student_run = _new_run(before)
    manifest = read_run(student_run).manifest
    assert manifest["inputs"]["teacher"]["path"] == str(teacher_ckpt.resolve())
    _, meta = load_checkpoint(student_run / "checkpoints" / "last")
    assert meta.teacher["sha256"] == manifest["inputs"]["teacher"]["sha256"] and meta.arch.variant == "sclc"

    before = _runs()
    assert main(["eval", str(teacher_run / "checkpoints" / "last")]) == 0
    eval_run = _new_run(before)
    assert read_run(eval_run).metrics()["accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert (eval_run / "confusion.png").is_file()
    assert "accuracy" in capsys.readouterr().out


KILL_AFTER_FIRST_EPOCH = """
import os, signal, sys
import osclc.models.training.trainer as training
from osclc.lab.cli.main import main

schedule = training.learning_rate

def learning_rate(config, epoch, epochs):
    if epoch == 1:  # epoch 1 is checkpointed and recorded; epoch 2 is starting: die as kill -9 would
        os.kill(os.getpid(), signal.SIGKILL)
    return schedule(config, epoch, epochs)

training.learning_rate = learning_rate
sys.exit(main(sys.argv[1:]))
"""
"""A ``python -c`` program: ``osclc ARGS`` that SIGKILLs itself when the second epoch starts.

The kill comes from inside at a fixed point of the training (no polling of the checkpoint files
from the test, which raced with the training on a loaded machine), and is a real SIGKILL: no
cleanup runs, so the run stays ``interrupted`` with only what epoch 1 wrote.
"""


def test_resume_after_a_kill_gives_the_uninterrupted_result(tmp_path):
    config = str(_config(tmp_path, "t", arch={"variant": "teacher"}, epochs=3, batch_size=128))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    killed_process = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST_EPOCH, "train", "teacher", "--config", config,
                                     "--no-progress"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    assert killed_process.returncode == -signal.SIGKILL, killed_process.stderr.decode()[-2000:]
    (killed,) = _runs()
    assert read_run(killed).status == "interrupted"
    epochs_done = len(read_run(killed).records("epochs"))
    assert epochs_done == 1 and json.loads((killed / "checkpoints" / "last" / "meta.json").read_text())["epoch"] == 1
    # continue the killed run by its id (the config comes from its checkpoint), then train straight through
    assert main(["train", "teacher", "--resume", killed.name, "--no-progress"]) == 0
    resumed = _new_run([killed])
    assert [r["epoch"] for r in read_run(resumed).records("epochs")] == list(range(epochs_done + 1, 4))
    before = _runs()
    assert main(["train", "teacher", "--config", config, "--no-progress"]) == 0
    straight = _new_run(before)
    assert _same_weights(resumed / "checkpoints" / "last", straight / "checkpoints" / "last")
    assert _same_weights(resumed / "checkpoints" / "best", straight / "checkpoints" / "best")


@pytest.mark.parametrize("asked", ["student", "teacher"])
def test_resuming_a_checkpoint_of_the_other_role_is_refused(tmp_path, capsys, asked):
    trained = "teacher" if asked == "student" else "student"
    variant = {"teacher": "teacher", "student": "sclc"}[trained]
    assert main(["train", trained, "--config", str(_config(tmp_path, "c", arch={"variant": variant})), "--no-progress"]) == 0
    (run,) = _runs()
    capsys.readouterr()
    assert main(["train", asked, "--resume", str(run / "checkpoints" / "last"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"is a {trained} checkpoint (arch.variant '{variant}') but a {asked} was asked for" in err
    assert _runs() == [run]  # refused before a run was started


def test_bad_input_exits_2(tmp_path, capsys):
    bad_key = _config(tmp_path, "bad", arch={"variant": "teacher"}, learning_rate=0.1)
    assert main(["train", "teacher", "--config", str(bad_key)]) == 2
    assert "learning_rate: unknown key" in capsys.readouterr().err
    student = _config(tmp_path, "student", arch={"variant": "sclc"})
    assert main(["train", "teacher", "--config", str(student)]) == 2
    assert "'sclc' is a student" in capsys.readouterr().err
    assert main(["train", "student", "--config", str(student), "--teacher", str(tmp_path / "nope")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    bad_dataset = _config(tmp_path, "data", dataset="cifar10:" + str(tmp_path / "none"))
    assert main(["train", "student", "--config", str(bad_dataset)]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["eval", str(tmp_path)]) == 2
    assert "meta.json is missing" in capsys.readouterr().err


def test_experiment_classification_writes_the_table(tmp_path):
    args = ["experiment", "classification", "--seeds", "2", "--epochs", "1", "--variants", "sclc_kd,backend_only",
            "--alphas", "0.5", "--temperatures", "2", "--no-progress"]
    assert main(args) == 0
    (run,) = _runs()
    results = json.loads((run / "results.json").read_text())
    entries = {v["name"]: v for v in results["variants"]}
    assert list(entries) == ["teacher", "sclc_kd", "backend_only"]
    for entry in entries.values():
        assert entry["seeds"] == [0, 1] and entry["n_test"] == 359 and len(entry["per_seed"]) == 2
        low, high = entry["interval"]
        assert low <= entry["accuracy_mean"] <= high
    assert entries["sclc_kd"]["settings"] == {"alpha": 0.5, "temperature": 2.0, "t_squared": True}
    assert results["kd_selected_on_validation"]["sclc_kd"]["alpha"] == 0.5
    table = (run / "results.md").read_text()
    assert "| `sclc_kd` |" in table and (run / "results.png").is_file()
    assert len(read_run(run).records("kd_selection")) == 1 and len(read_run(run).records("trainings")) == 6
