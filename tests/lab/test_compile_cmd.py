"""``osclc compile``: end to end on the ideal simulated bench with an (untrained) digits student."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import osclc.drivers.bench as bench_module
from osclc.calibration.program import OpticalProgram
from osclc.calibration.record import CalibrationRecord
from osclc.configs import bundled
from osclc.lab.cli.main import main
from osclc.lab.config.files import load_config
from osclc.models.networks.architecture import ClassificationArch, build_model
from osclc.models.training.checkpoints import save_checkpoint


def _compile_args(tmp_path, out) -> list[str]:
    """``osclc compile`` of an untrained 4-channel digits student for the ideal bench, with its identity calibration."""
    torch.manual_seed(0)
    arch = ClassificationArch(channels=[4, 4], pools=[1, 2])
    checkpoint = save_checkpoint(tmp_path / "student", build_model(arch, 1, 8, 10).eval(),
                                 {"arch": arch, "in_channels": 1, "image_size": 8, "num_classes": 10, "dataset": "digits"})
    bench = bundled("bench-sim-ideal.yaml")
    calib = CalibrationRecord.identity(load_config(bench, kind="bench")).save(tmp_path / "calib.json")
    return ["compile", str(checkpoint), "--calib", str(calib), "--bench", str(bench), "--out", str(out),
            "--normalise-images", "6", "--check-images", "3"]


def test_compile_writes_a_program_and_a_run(tmp_path, _isolated_runs_dir) -> None:
    out = tmp_path / "program"
    code = main(_compile_args(tmp_path, out))
    assert code == 0
    program = OpticalProgram.load(out)
    assert program.out_channels == 4 and (out / "backend.safetensors").is_file()
    runs = list(_isolated_runs_dir.iterdir())
    assert len(runs) == 1
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    assert metrics["correlation_min"] > 0.98
    assert (runs[0] / "masks.png").is_file() and (runs[0] / "features.png").is_file()
    assert np.all(np.isfinite(program.feature_gain))


def test_compile_refuses_a_calibration_of_another_bench(tmp_path, capsys) -> None:
    other = load_config(bundled("bench-sim-realistic.yaml"), kind="bench")
    calib = CalibrationRecord.identity(other).save(tmp_path / "calib.json")
    code = main(["compile", str(tmp_path / "missing"), "--calib", str(calib), "--bench", str(bundled("bench-sim-ideal.yaml")),
                 "--out", str(tmp_path / "p")])
    assert code == 2
    assert "calibration" in capsys.readouterr().err


@pytest.mark.parametrize("occupied", ["file", "non-empty folder"])
def test_compile_refuses_an_occupied_out_before_opening_the_bench(tmp_path, _isolated_runs_dir, monkeypatch, capsys, occupied):
    out = tmp_path / "program"
    if occupied == "file":
        out.write_text("an earlier result")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("an earlier result")
    opened = []
    open_devices = bench_module._open_devices
    monkeypatch.setattr(bench_module, "_open_devices", lambda *args, **kwargs: opened.append(args) or open_devices(*args, **kwargs))
    code = main(_compile_args(tmp_path, out))
    assert code == 2
    err = capsys.readouterr().err
    assert str(out) in err and ("not a folder" if occupied == "file" else "not empty") in err
    assert opened == []  # refused before the bench (and its laser) was opened
    assert not _isolated_runs_dir.exists() or not any(_isolated_runs_dir.iterdir())  # and before a run was started
    kept = out if occupied == "file" else out / "notes.txt"
    assert kept.read_text() == "an earlier result"


def test_compile_into_an_empty_folder(tmp_path) -> None:
    out = tmp_path / "program"
    out.mkdir()
    assert main(_compile_args(tmp_path, out)) == 0
    assert OpticalProgram.load(out).out_channels == 4


def _broken_bench_args(tmp_path, out, imperfections: dict[str, object]) -> list[str]:
    """``_compile_args`` on the ideal bench with ``imperfections`` added: its identity calibration then has exactly
    that calibration group wrong."""
    args = _compile_args(tmp_path, out)
    config = load_config(bundled("bench-sim-ideal.yaml"), kind="bench").model_dump(mode="json")
    config["simulation"]["imperfections"].update(imperfections)
    bench = tmp_path / "broken.yaml"
    bench.write_text(json.dumps(config))
    calib = CalibrationRecord.identity(load_config(bench, kind="bench")).save(tmp_path / "broken-calib.json")
    args[args.index("--bench") + 1], args[args.index("--calib") + 1] = str(bench), str(calib)
    return args


@pytest.mark.parametrize("imperfections, step", [
    ({"camera_offset_px": [2.0, 0.0]}, "camera"),
    ({"zernike_rad": {"4": 2.0, "7": 1.0}}, "wavefront"),
])
def test_compile_fails_on_a_broken_calibration_naming_the_step(tmp_path, _isolated_runs_dir, capsys, imperfections, step):
    out = tmp_path / "program"
    assert main(_broken_bench_args(tmp_path, out, imperfections)) == 1
    err = capsys.readouterr().err
    assert "program check" in err and "correlation of channel" in err and "bound >= 0.98" in err
    assert f"most likely calibration step at fault: {step}" in err
    assert not out.exists() or not any(out.iterdir())  # no program written
    (run,) = _isolated_runs_dir.iterdir()
    assert (run / "features.png").is_file()


def test_compile_force_keeps_a_failing_program_and_marks_it(tmp_path, _isolated_runs_dir, capsys) -> None:
    out = tmp_path / "program"
    assert main([*_broken_bench_args(tmp_path, out, {"camera_offset_px": [2.0, 0.0]}), "--force"]) == 0
    assert "FORCED" in capsys.readouterr().out
    program = OpticalProgram.load(out)
    assert program.info["forced"] is True and min(program.info["check"]["correlation"]) < 0.98
    (run,) = _isolated_runs_dir.iterdir()
    assert json.loads((run / "metrics.json").read_text())["forced"] is True


def test_a_good_program_is_not_forced(tmp_path) -> None:
    out = tmp_path / "program"
    assert main(_compile_args(tmp_path, out)) == 0
    assert OpticalProgram.load(out).info["forced"] is False
