"""``osclc demo --quick`` end to end: train, calibrate, compile, optical inference, fine-tuning, one table."""

from __future__ import annotations

import json

from osclc.lab.cli.main import main
from osclc.lab.runs import list_runs, read_run


def test_quick_demo_runs_every_step_and_prints_the_table(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["--runs-dir", str(runs), "--device", "cpu", "demo", "--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("teacher CNN (digital)", "student SCLC (digital, folded)", "student optical (simulated bench)",
                "student optical, fine-tuned backend", "exposure", "backend"):
        assert row in out
    infos = list_runs(runs)
    by_command = {info.manifest["command"]: info for info in infos}
    # every step is the job its command runs, each with its own run
    assert sorted(info.manifest["command"] for info in infos) == sorted(["demo", "train", "train", "calibrate", "compile",
                                                                        "infer", "finetune"])
    compiled = by_command["compile"].metrics()
    assert compiled["candidates"] and -1.0 <= compiled["correlation_min"] <= 1.0
    demo = by_command["demo"]
    assert demo.status == "completed"
    metrics = demo.metrics()
    assert len(metrics["table"]) == 5 and all(0.0 <= row["accuracy"] <= 1.0 for row in metrics["table"])
    for name in ("demo.md", "latency.md", "latency_hist.png", "latency_breakdown.png", "calibration.json", "program/program.json",
                 "program/backend.json"):
        assert (demo.folder / name).exists(), name
    assert str(demo.folder) in out
    program = json.loads((demo.folder / "program" / "program.json").read_text())
    assert program["info"]["check"]["images"] == 8  # the compile job's check step ran on the demo's program
    assert set(metrics["runs"]) == {"teacher", "student", "calibrate", "compile", "infer", "finetune"}
    infer_run = read_run(by_command["infer"].folder)
    assert infer_run.status == "completed" and len(infer_run.records("frames")) == 24
    tuned = by_command["finetune"].metrics()
    assert tuned["test_images"] == 24 and tuned["test_accuracy_after"] is not None
