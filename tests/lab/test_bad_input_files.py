"""Bad model and program files end as one line and exit 2 before anything is written or run: non-finite weights in a
checkpoint or a stored backend (``eval`` used to report 10 % at exit 0 and ``compile`` to write the program), a
truncated ``.npz`` beside a program, out-of-range program fields, and a record whose ``fourier.pad`` is -256 (it used to
compile a garbage program at exit 0)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from osclc.calibration.compiler.pipeline import compile_program
from osclc.calibration.program import OpticalProgram, ProgramError
from osclc.calibration.record import CalibrationRecord
from osclc.configs import bundled
from osclc.lab.backend_files import BackendFileError, load_backend, save_backend
from osclc.lab.cli.main import main
from osclc.lab.config.files import load_config
from osclc.models.folding import fold
from osclc.models.networks.architecture import ClassificationArch, build_model
from osclc.models.training.checkpoints import CheckpointError, load_checkpoint, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARCH = ClassificationArch(channels=[2], pools=[2])


def _student() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ARCH, 1, 8, 10).eval()


def _checkpoint(folder: Path, model: torch.nn.Module) -> Path:
    return save_checkpoint(folder, model, {"arch": ARCH, "in_channels": 1, "image_size": 8, "num_classes": 10, "dataset": "digits"})


def _poisoned(model: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        model.backend.head.weight[0, 0] = float("nan")
    return model


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("osclc")]
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


def test_nan_weights_in_a_checkpoint_are_refused_by_eval_and_compile(tmp_path, capsys):
    checkpoint = _checkpoint(tmp_path / "student", _poisoned(_student()))
    with pytest.raises(CheckpointError, match=r"model\.safetensors: tensor\(s\) backend\.head\.weight hold NaN or infinity"):
        load_checkpoint(checkpoint)
    assert main(["eval", str(checkpoint)]) == 2
    assert "backend.head.weight hold NaN" in _one_error_line(capsys)
    bench = bundled("bench-sim-ideal.yaml")
    calib = CalibrationRecord.identity(load_config(bench, kind="bench")).save(tmp_path / "calib.json")
    out = tmp_path / "program"
    assert main(["compile", str(checkpoint), "--calib", str(calib), "--bench", str(bench), "--out", str(out)]) == 2
    assert "backend.head.weight hold NaN" in _one_error_line(capsys)
    assert not out.exists()


def test_nan_weights_in_a_stored_backend_are_refused(tmp_path):
    save_backend(tmp_path, _poisoned(_student()).backend, {"source": "test"})
    with pytest.raises(BackendFileError, match=r"backend\.safetensors: tensor\(s\) head\.weight hold NaN or infinity"):
        load_backend(tmp_path)


def test_a_record_with_a_negative_pad_is_refused_before_compiling(tmp_path, capsys):
    checkpoint = _checkpoint(tmp_path / "student", _student())
    bench = bundled("bench-sim-ideal.yaml")
    calib = CalibrationRecord.identity(load_config(bench, kind="bench")).save(tmp_path / "calib.json")
    doc = json.loads(calib.read_text())
    doc["fourier"]["pad"] = -256
    calib.write_text(json.dumps(doc))
    out = tmp_path / "program"
    assert main(["compile", str(checkpoint), "--calib", str(calib), "--bench", str(bench), "--out", str(out)]) == 2
    assert "fourier.pad = -256 is outside 1 .. 65536" in _one_error_line(capsys)
    assert not out.exists()


@pytest.fixture(scope="module")
def program_folder(tmp_path_factory) -> Path:
    config = load_config(bundled("bench-sim-ideal.yaml"), kind="bench")
    program = compile_program(fold(_student()), CalibrationRecord.identity(config), config, multiplex="time")
    return program.save(tmp_path_factory.mktemp("program"))


def _copy(folder: Path, target: Path) -> Path:
    target.mkdir()
    for file in folder.iterdir():
        (target / file.name).write_bytes(file.read_bytes())
    return target


def _rehash(folder: Path) -> None:
    doc = json.loads((folder / "program.json").read_text())
    doc["arrays_sha256"] = hashlib.sha256((folder / "arrays.npz").read_bytes()).hexdigest()
    (folder / "program.json").write_text(json.dumps(doc))


def test_a_truncated_program_npz_is_one_error_naming_the_file(program_folder, tmp_path):
    folder = _copy(program_folder, tmp_path / "p")
    npz = folder / "arrays.npz"
    npz.write_bytes(npz.read_bytes()[:500])
    _rehash(folder)
    with pytest.raises(ProgramError, match=rf"{npz}: not a readable array archive \(BadZipFile"):
        OpticalProgram.load(folder)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("slm", "bit_depth"), 10**9, r"slm\.bit_depth = 1000000000 is outside 1 \.\. 16 \(bits\)"),
        (("input", "scale"), 2.5, r"input\.scale must be an integer"),
        (("readout", "dark_exposure_s"), float("nan"), r"readout\.dark_exposure_s = nan is outside 1e-06 \.\. 10 \(s\)"),
        (("exposure_s",), [-1.0], r"exposure_s\[0\] = -1\.0 is outside"),
        (("frames",), [True], r"frames\[0\] must be an integer"),
        (("readout", "out_size"), [], r"readout\.out_size must be \[rows, cols\]"),
        (("pattern_channels",), [[0], "1"], r"pattern_channels must be a list of lists"),
    ],
)
def test_out_of_range_program_fields_are_refused(program_folder, tmp_path, path, value, message):
    folder = _copy(program_folder, tmp_path / "p")
    doc = json.loads((folder / "program.json").read_text())
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    (folder / "program.json").write_text(json.dumps(doc))
    with pytest.raises(ProgramError, match=message):
        OpticalProgram.load(folder)


def test_a_program_array_that_is_not_an_archive_is_refused(program_folder, tmp_path):
    folder = _copy(program_folder, tmp_path / "p")
    np.save(folder / "arrays.npz", np.zeros(3))  # np.save appends .npy: write the bytes under the archive's name
    (folder / "arrays.npz.npy").replace(folder / "arrays.npz")
    _rehash(folder)
    with pytest.raises(ProgramError, match=r"holds one array, not an \.npz archive"):
        OpticalProgram.load(folder)
