"""``osclc calibrate``: records, partial updates, refusal of another bench, run folder with plots."""

from __future__ import annotations

import json

import yaml

from osclc.calibration.record import CalibrationRecord
from osclc.lab.cli.main import main


def _bench(tmp_path, name="cal-test", **imperfections):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"kind": "bench", "name": name,
                                    "simulation": {"imperfections": {"lut_gamma": 1.2, **imperfections}}}))
    return path


def test_calibrate_lut_then_camera_updates_the_record(tmp_path, capsys):
    bench = _bench(tmp_path)
    out = tmp_path / "calib.json"
    runs = tmp_path / "runs"
    assert main(["--runs-dir", str(runs), "calibrate", "lut", "--bench", str(bench), "--out", str(out)]) == 0
    assert out.is_file() and out.with_suffix(".npz").is_file()
    assert CalibrationRecord.load(out).measured == ["lut"]
    assert main(["--runs-dir", str(runs), "calibrate", "camera", "--bench", str(bench), "--out", str(out)]) == 0
    record = CalibrationRecord.load(out)
    assert record.measured == ["lut", "camera"] and set(record.stats) >= {"lut", "camera"}
    folders = sorted(p for p in runs.iterdir() if p.is_dir())
    assert len(folders) == 2 and (folders[0] / "lut.png").is_file() and (folders[1] / "affines.png").is_file()
    metrics = json.loads((folders[1] / "metrics.json").read_text())
    assert metrics["camera_captures"] > 0
    assert "run:" in capsys.readouterr().out


def test_calibrate_refuses_record_of_another_bench(tmp_path, capsys):
    out = tmp_path / "calib.json"
    runs = str(tmp_path / "runs")
    assert main(["--runs-dir", runs, "calibrate", "lut", "--bench", str(_bench(tmp_path)), "--out", str(out)]) == 0
    other = _bench(tmp_path, name="other", fourier_offset_px=[1.0, 0.0])
    assert main(["--runs-dir", runs, "calibrate", "camera", "--bench", str(other), "--out", str(out)]) == 2
    assert "another bench" in capsys.readouterr().err
    assert main(["--runs-dir", runs, "calibrate", "lut", "--bench", str(other), "--out", str(tmp_path / "c.txt")]) == 2


def test_failed_gate_exits_1_with_the_table_and_force_writes_a_forced_record(tmp_path, capsys):
    """The camera 80 px (31 % of its 256 px) off axis, the image still on the sensor: the camera step refuses it naming
    the figure, bound, cause and fix, and the run keeps the table; --force writes the record, marked forced."""
    bench = _bench(tmp_path, name="off-axis", camera_offset_px=[80.0, 0.0])
    out = tmp_path / "calib.json"
    runs = tmp_path / "runs"
    argv = ["--runs-dir", str(runs), "calibrate", "camera", "--bench", str(bench), "--out", str(out), "--no-progress"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "'camera' failed its quality gate" in captured.err and "camera far off axis" in captured.err
    assert "<= 0.2" in captured.err and "centre the camera on the optical axis" in captured.err
    assert not out.exists()
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    table = (folder / "quality.txt").read_text().splitlines()
    assert table[0].split() == ["step", "figure", "value", "bound", "verdict"]
    assert any(line.startswith("camera") and "image centre offset" in line and line.endswith("fail") for line in table)
    assert "image centre offset" in captured.out  # the table is printed too
    assert main(argv + ["--force"]) == 0
    record = CalibrationRecord.load(out)
    assert record.forced and record.measured == ["camera"]
    failed = [f for f in record.quality if f.verdict == "fail"]
    assert [(f.step, f.name) for f in failed] == [("camera", "image centre offset / device size")]
    assert "marked forced" in capsys.readouterr().out


def test_progress_bar_estimates_the_time_left(tmp_path, capsys):
    bench = _bench(tmp_path)
    assert main(["--runs-dir", str(tmp_path / "runs"), "calibrate", "lut", "--bench", str(bench), "--out",
                 str(tmp_path / "calib.json")]) == 0
    err = capsys.readouterr().err
    assert "calibrating: phase LUT" in err and "left" in err and "100%" in err
