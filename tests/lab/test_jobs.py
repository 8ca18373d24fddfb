"""The jobs called from Python as a notebook would (no argparse): typed options in, typed results out, lines for a
person only through ``context.say``, bad options refused before anything is loaded or opened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import osclc.drivers.bench as bench_module
from osclc.calibration.program import OpticalProgram, ProgramError
from osclc.configs import bundled
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.config.files import load_config
from osclc.lab.jobs.bench_check import BenchCheckOptions, check_bench
from osclc.lab.jobs.calibrate import CalibrateOptions, calibrate_bench
from osclc.lab.jobs.compile import CompileOptions, check_program_folder, compile_student
from osclc.lab.jobs.context import JobContext
from osclc.lab.jobs.evaluate import EvalOptions, evaluate_checkpoint
from osclc.lab.jobs.finetune import FinetuneOptions
from osclc.lab.jobs.infer import InferOptions, infer
from osclc.lab.jobs.train import TrainOptions, role_of, train
from osclc.lab.runs import read_run
from osclc.models.networks.architecture import ClassificationArch, build_model
from osclc.models.training.checkpoints import CheckpointError, save_checkpoint
from osclc.models.training.config import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _ideal() -> BenchConfig:
    config = load_config(bundled("bench-sim-ideal.yaml"), kind="bench")
    assert isinstance(config, BenchConfig)
    return config


def _student(folder: Path) -> Path:
    torch.manual_seed(0)
    arch = ClassificationArch(variant="sclc", detector="intensity", channels=[2])
    return save_checkpoint(folder, build_model(arch, 1, 8, 10).eval(),
                           {"arch": arch, "in_channels": 1, "image_size": 8, "num_classes": 10, "dataset": "digits"})


def test_calibrate_compile_infer_from_python_report_only_through_say(tmp_path, capsys):
    said: list[str] = []
    context = JobContext(runs_dir=tmp_path / "runs", say=said.append, progress=False)
    bench = _ideal()
    calibrated = calibrate_bench(CalibrateOptions(bench=bench, out=tmp_path / "calib.json", which="lut"), context)
    assert calibrated.record.measured == ["lut"] and calibrated.out.is_file()
    assert [p.name for p in calibrated.plots] == ["lut.png"] and all(p.parent == calibrated.folder for p in calibrated.plots)
    assert said and all(line.startswith("calibrating: ") for line in said)
    compiled = compile_student(CompileOptions(checkpoint=_student(tmp_path / "student"), calibration=calibrated.out, bench=bench,
                                              out=tmp_path / "program", normalise_images=6, check_images=3), context)
    assert OpticalProgram.load(compiled.program_dir).out_channels == 2
    assert compiled.program.info["check"] == {"images": 3, "correlation": compiled.check_correlation}
    assert min(compiled.check_correlation) > 0.98 and compiled.compile_s > 0
    assert read_run(compiled.folder).metrics()["candidates"] == compiled.candidates
    manifest = json.loads((compiled.folder / "manifest.json").read_text())
    assert set(manifest["inputs"]) == {"model", "calibration"}  # no bench file given: only the config is recorded
    inferred = infer(InferOptions(bench=bench, program=compiled.program_dir, dataset="digits", limit=6, baseline_repeat=2), context)
    assert inferred.metrics["accuracy"]["n"] == 6 and inferred.outcome.features is not None
    assert [info.manifest["command"] for info in map(read_run, (calibrated.folder, compiled.folder, inferred.folder))] == \
        ["calibrate", "compile", "infer"]
    assert capsys.readouterr().out == ""  # a job never prints


def test_bench_check_job_from_python(tmp_path, capsys):
    said: list[str] = []
    result = check_bench(BenchCheckOptions(bench=_ideal()), JobContext(runs_dir=tmp_path / "runs", say=said.append))
    assert [row["device"] for row in result.devices] == ["laser", "input", "slm", "camera"]
    assert [line.split()[0] for line in said] == ["laser", "input", "slm", "camera"]
    assert result.metrics["frame_max"] > result.metrics["frame_min"] and (result.folder / "frame.png").is_file()
    assert read_run(result.folder).status == "completed"
    assert capsys.readouterr().out == ""


def test_train_and_eval_jobs_from_python(tmp_path, capsys):
    config = TrainConfig.model_validate({"dataset": "digits", "epochs": 1, "batch_size": 128, "arch": {"variant": "teacher"}})
    said: list[str] = []
    context = JobContext(runs_dir=tmp_path / "runs", say=said.append, progress=False)
    result = train(TrainOptions(role="teacher", config=config), context)
    assert result.folder is not None and result.last == result.folder / "checkpoints" / "last"
    assert result.accuracy is not None and result.accuracy.total == 359 and result.scores is None
    assert said[0].startswith("training teacher teacher on") and said[1].startswith("epoch 1/1: loss")
    evaluated = evaluate_checkpoint(EvalOptions(checkpoint=result.last), context)
    assert evaluated.accuracy == result.accuracy and evaluated.title == "teacher on digits (test)"
    assert (evaluated.folder / "confusion.png").is_file()
    assert capsys.readouterr().out == ""


def test_resuming_a_checkpoint_of_the_other_role_names_both_roles(tmp_path):
    student = _student(tmp_path / "student")
    with pytest.raises(CheckpointError, match=r"is a student checkpoint \(arch.variant 'sclc'\) but a teacher was asked for"):
        train(TrainOptions(role="teacher", resume=student), JobContext(runs_dir=tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()
    assert [role_of(v) for v in ("teacher", "sq_teacher", "unet", "sclc", "sclc_unet", "backend_only")] == \
        ["teacher"] * 3 + ["student"] * 3


def test_program_folder_check(tmp_path):
    assert check_program_folder(tmp_path / "new") == tmp_path / "new"
    assert check_program_folder(tmp_path) == tmp_path  # empty
    (tmp_path / "x").write_text("")
    with pytest.raises(ProgramError, match="not empty"):
        check_program_folder(tmp_path)
    with pytest.raises(ProgramError, match="not a folder"):
        check_program_folder(tmp_path / "x")


@pytest.mark.parametrize("make, message", [
    (lambda b, p: CompileOptions(checkpoint=p, calibration=p, bench=b, out=p, normalise_images=1), "--normalise-images must be >= 2"),
    (lambda b, p: CompileOptions(checkpoint=p, calibration=p, bench=b, out=p, multiplex="both"), "multiplex 'both'"),
    (lambda b, p: CalibrateOptions(bench=b, out=p / "calib.txt"), "give a .json path"),
    (lambda b, p: CalibrateOptions(bench=b, out=p / "c.json", which="everything"), "which 'everything'"),
    (lambda b, p: InferOptions(bench=b, program=p, dataset="digits", limit=0), "--limit 0"),
    (lambda b, p: FinetuneOptions(bench=b, program=p, dataset="digits", lr=0.0), "lr > 0"),
    (lambda b, p: EvalOptions(checkpoint=p, batch_size=0), "--batch-size 0"),
    (lambda b, p: TrainOptions(role="student", epochs=0), "--epochs 0"),
    (lambda b, p: BenchCheckOptions(bench=b, timeout_s=0.0), "--timeout-s 0.0"),
])
def test_bad_options_are_refused_when_built(tmp_path, monkeypatch, make, message):
    monkeypatch.setattr(bench_module, "_open_devices", lambda *args, **kwargs: pytest.fail("a bench was opened"))
    with pytest.raises(ValueError, match=message):
        make(_ideal(), tmp_path)
