"""SCLC U-Net frontend on a simulated bench: one program per level, loop records, backend, scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from osclc.calibration.record import CalibrationRecord
from osclc.configs import bundled
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.loop.config import LoopConfig
from osclc.lab.runs import Run, read_run
from osclc.lab.jobs.segment import run_optical_segmentation
from osclc.models.data.spec import load_dataset
from osclc.models.networks.sclc_unet import SCLCUNet


@pytest.fixture(scope="module")
def clean_bench() -> BenchConfig:
    """The segmentation bench's geometry (room for full-resolution levels) without imperfections or noise."""
    data = yaml.safe_load(bundled("bench-sim-realistic-segmentation.yaml").read_text())
    data["simulation"] = {"clock": "virtual", "noise": False, "quantize": False, "seed": 0}
    return BenchConfig.model_validate(data)


def test_every_level_runs_through_the_loop_and_matches_the_digital_student(clean_bench, tmp_path):
    torch.manual_seed(0)
    student = SCLCUNet(1, 2, [2, 4], 16)
    student(torch.rand(8, 1, 16, 16))  # running statistics of the readout normalisation
    data = load_dataset("shapes:n=20,n_test=4", 16)
    with Run.create("segment", root=tmp_path) as run:
        result = run_optical_segmentation(student.eval(), CalibrationRecord.identity(clean_bench), clean_bench,
                                          data.test.x.numpy(), data.test.y.numpy(), data.val.x.numpy(), 2,
                                          LoopConfig(), torch.device("cpu"), run=run)
    assert result.frames == 4 and result.lost == 0
    assert [level["level"] for level in result.levels] == [0, 1]
    assert [level["out_channels"] for level in result.levels] == [2, 4]
    for level in result.levels:
        assert min(level["normalisation_correlation"]) > 0.8  # camera features follow the digital ones
        assert level["latency"]["end_to_end"]["p50_ms"] > 0
    assert result.agreement > 0.85
    assert set(result.optical) == {"pixel_accuracy", "mean_iou", "dice"}
    info = read_run(run.folder)
    assert {"frames_level0", "frames_level1"} <= set(info.streams())
    assert [r["index"] for r in info.records("frames_level1")] == [0, 1, 2, 3]
    assert result.budget["masks"] == sum(level["masks"] for level in result.levels)
    assert np.isfinite(result.backend_ms_p50)


def test_a_student_without_a_camera_detector_is_refused(clean_bench):
    student = SCLCUNet(1, 2, [2, 4], 16, detector="field").eval()
    images = np.zeros((1, 1, 16, 16), dtype=np.float32)
    with pytest.raises(ValueError, match="detector 'intensity'"):
        run_optical_segmentation(student, CalibrationRecord.identity(clean_bench), clean_bench, images,
                                 np.zeros((1, 16, 16), dtype=np.int64), images, 2, LoopConfig(), torch.device("cpu"))


def test_segment_command_end_to_end(clean_bench, tmp_path, capsys):
    from osclc.lab.cli.main import main

    config = {"kind": "train", "dataset": "shapes:n=24,n_test=4", "image_size": 16, "val_fraction": 0.25, "epochs": 1,
              "batch_size": 8, "arch": {"variant": "sclc_unet", "channels": [2, 4], "detector": "intensity"},
              "optimiser": {"name": "adam", "lr": 0.003, "weight_decay": 0.0}}
    (tmp_path / "student.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "bench.yaml").write_text(yaml.safe_dump(clean_bench.model_dump(mode="json")))
    CalibrationRecord.identity(clean_bench).save(tmp_path / "calibration.json")
    runs = str(tmp_path / "runs")
    assert main(["--runs-dir", runs, "train", "student", "--config", str(tmp_path / "student.yaml"), "--no-progress"]) == 0
    student = next((tmp_path / "runs").iterdir()) / "checkpoints" / "last"
    code = main(["--runs-dir", runs, "segment", "--bench", str(tmp_path / "bench.yaml"), "--calibration",
                 str(tmp_path / "calibration.json"), "--student", str(student), "--limit", "3"])
    assert code == 0
    out = capsys.readouterr().out
    assert "optical: pixel accuracy" in out and "level 1: 4 channels" in out
    folder = max((tmp_path / "runs").iterdir())
    metrics = read_run(folder).metrics()
    assert read_run(folder).status == "completed" and 0.0 <= metrics["optical"]["mean_iou"] <= 1.0
    assert (folder / "optical_segmentation.json").is_file()
