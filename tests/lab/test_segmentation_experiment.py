"""``osclc experiment segmentation`` and ``osclc train``/``eval`` on a tiny shapes set, end to end."""

from __future__ import annotations

import json

import yaml

from osclc.lab.cli.main import main
from osclc.lab.runs import read_run

TINY = {"kind": "train", "dataset": "shapes:n=24,n_test=4", "image_size": 16, "val_fraction": 0.25, "epochs": 1,
        "batch_size": 8, "optimiser": {"name": "adam", "lr": 0.003, "weight_decay": 0.0}}


def _configs(tmp_path):
    paths = {}
    for role, arch in (("teacher", {"variant": "unet", "channels": [4, 8]}),
                       ("student", {"variant": "sclc_unet", "channels": [4, 8], "detector": "intensity"})):
        paths[role] = tmp_path / f"{role}.yaml"
        paths[role].write_text(yaml.safe_dump(TINY | {"arch": arch}))
    return paths


def test_experiment_writes_table_iv_and_predictions(tmp_path, capsys):
    paths = _configs(tmp_path)
    code = main(["--runs-dir", str(tmp_path / "runs"), "--device", "cpu", "experiment", "segmentation",
                 "--dataset", "shapes:n=24,n_test=4", "--seeds", "2", "--no-progress",
                 "--teacher-config", str(paths["teacher"]), "--student-config", str(paths["student"]),
                 "--variants", "detector_sclc_kd", "--alphas", "0.3,0.7", "--examples", "2"])
    assert code == 0
    folder = next((tmp_path / "runs").iterdir())
    info = read_run(folder)
    assert info.status == "completed"
    results = json.loads((folder / "results.json").read_text())
    assert [v["name"] for v in results["variants"]] == ["teacher", "detector_sclc_kd"]
    figures = results["figures"]["detector_sclc_kd"]
    for key in ("pixel_accuracy", "mean_iou", "dice"):
        assert len(figures[key]["per_seed"]) == 2
    assert 0.0 <= figures["mean_iou"]["mean"] <= 1.0
    assert set(results["rates"]["detector_sclc_kd"]) == {"frames_per_s", "frames_per_s_layer_by_layer"}
    assert results["rates"]["teacher"]["frames_per_s"] > 0
    assert results["variants"][1]["settings"]["alpha"] in (0.3, 0.7)
    assert len(info.records("kd_selection")) == 2 and all(r["split"] == "val" for r in info.records("kd_selection"))
    table = (folder / "results.md").read_text()
    assert "mean IoU" in table and "| `detector_sclc_kd` |" in table and "frames/s" in table
    assert (folder / "predictions.png").stat().st_size > 0
    assert (folder / "checkpoints" / "detector_sclc_kd" / "meta.json").is_file()


def test_experiment_refuses_a_classification_dataset(tmp_path, capsys):
    paths = _configs(tmp_path)
    code = main(["--runs-dir", str(tmp_path / "runs"), "experiment", "segmentation", "--dataset", "digits",
                 "--teacher-config", str(paths["teacher"]), "--student-config", str(paths["student"])])
    assert code == 2
    assert "classification dataset" in capsys.readouterr().err


def test_train_and_eval_report_segmentation_scores(tmp_path, capsys):
    paths = _configs(tmp_path)
    runs = str(tmp_path / "runs")
    assert main(["--runs-dir", runs, "train", "teacher", "--config", str(paths["teacher"]), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "mean IoU" in out
    folder = next((tmp_path / "runs").iterdir())
    metrics = read_run(folder).metrics()
    assert 0.0 <= metrics["test_mean_iou"] <= 1.0 and "test_dice" in metrics
    assert main(["--runs-dir", runs, "eval", str(folder / "checkpoints" / "last")]) == 0
    assert "Dice" in capsys.readouterr().out
