"""Property-based: random mutations of every config kind, a calibration record, a program and a checkpoint either
load or are refused with exit 2 and one message, never a traceback, and nothing is written by the refused command.

Each property mutates a valid document at a random place (replace a value by any JSON value, delete a key or item,
add a key) or, for YAML, its text (cut, insert, replace characters), and runs it through the command that reads it
(``osclc config check``, ``osclc compile --calib``, ``osclc infer --program``, ``osclc eval``) after the loader itself.
Derandomized (fixed examples), so every run tests the same cases.
"""

from __future__ import annotations

import re
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osclc.calibration.compiler.pipeline import compile_program
from osclc.calibration.program import OpticalProgram, ProgramError
from osclc.calibration.record import CalibrationError, CalibrationRecord
from osclc.configs import bundled
from osclc.lab.cli.main import main
from osclc.lab.config.files import load_config
from osclc.lab.config.kinds import KINDS
from osclc.models.folding import fold
from osclc.models.networks.architecture import ClassificationArch, build_model
from osclc.models.training.checkpoints import load_checkpoint, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EXAMPLES = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# any JSON value, weighted towards what breaks loaders: wrong types, extremes, NaN, containers
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.sampled_from([-(2**70), 2**31, 2**64, 10**400 // 10**390]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.sampled_from([[], {}, [0], [1, 2], [[1, 2, 3], [4, 5, 6]], {"x": 1}, "npz:dark", "", "1e-3", "8192"]),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indices) to a node below the top of ``node``."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    out = []
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


@st.composite
def mutated(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with one node replaced, deleted, or given a new key / item."""
    doc = copy.deepcopy(doc)
    path = draw(st.sampled_from(_paths(doc)))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
    if action == "replace":
        parent[path[-1]] = draw(LEAVES)
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=8))] = draw(LEAVES)
    else:
        parent.append(draw(LEAVES))
    return doc


@st.composite
def garbled(draw: st.DrawFn, text: str) -> str:
    """``text`` cut short, or with a few characters inserted or replaced."""
    if draw(st.booleans()):
        return text[: draw(st.integers(0, len(text)))]
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#,? \n\t0aZ.~%@`\x00\u00e9")), min_size=1, max_size=3))
        text = text[:at] + piece + text[at + draw(st.integers(0, 2)):]
    return text


def _refused_in_one_message(code: int, err: str) -> None:
    """Exit 2 with one message (one line, or a header and one indented line per config problem) and no traceback."""
    assert code == 2, err
    lines = [line for line in err.split("\n") if line.strip()]
    assert "Traceback" not in err and lines and re.match(r"osclc( [\w-]+)*: error: ", lines[0]), err
    assert all(line.startswith("  ") for line in lines[1:]), repr(err)


def _config_docs() -> dict[str, dict[str, Any]]:
    docs = {kind: {"kind": kind, **model().model_dump(mode="json")} for kind, model in KINDS.items()}
    docs["bench-realistic"] = yaml.safe_load(bundled("bench-sim-realistic.yaml").read_text())
    docs["train-student"] = yaml.safe_load(bundled("train-student-digits.yaml").read_text())
    return docs


CONFIGS = _config_docs()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_mutated_configs_load_or_are_refused_in_one_message(name, tmp_path, capsys):
    @EXAMPLES
    @given(doc=mutated(CONFIGS[name]))
    def check(doc: dict[str, Any]) -> None:
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True))
        code = main(["config", "check", str(path)])
        err = capsys.readouterr().err
        if code != 0:
            _refused_in_one_message(code, err)

    check()


def test_garbled_config_text_loads_or_is_refused_in_one_message(tmp_path, capsys):
    text = bundled("bench-sim-realistic.yaml").read_text()

    @EXAMPLES
    @given(garbled(text))
    def check(garbled_text: str) -> None:
        path = tmp_path / "c.yaml"
        path.write_bytes(garbled_text.encode("utf-8", "surrogatepass"))
        code = main(["config", "check", str(path)])
        err = capsys.readouterr().err
        if code != 0:
            _refused_in_one_message(code, err)

    check()


# ---------------------------------------------------------------- files the commands read

ARCH = ClassificationArch(channels=[2], pools=[2])
BENCH = bundled("bench-sim-ideal.yaml")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A student checkpoint, an identity calibration record and a program compiled from them (ideal bench)."""
    folder = tmp_path_factory.mktemp("files")
    torch.manual_seed(0)
    model = build_model(ARCH, 1, 8, 10).eval()
    checkpoint = save_checkpoint(folder / "student", model,
                                 {"arch": ARCH, "in_channels": 1, "image_size": 8, "num_classes": 10, "dataset": "digits"})
    config = load_config(BENCH, kind="bench")
    record = CalibrationRecord.identity(config)
    calib = record.save(folder / "calibration" / "calib.json")
    program = compile_program(fold(model), record, config, multiplex="time").save(folder / "program")
    CalibrationRecord.load(calib), OpticalProgram.load(program), load_checkpoint(checkpoint)  # the unmutated files load
    return {"checkpoint": checkpoint, "calib": calib, "program": program}


def _write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, allow_nan=True))


def _copy_tree(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for file in source.iterdir():
        (target / file.name).write_bytes(file.read_bytes())
    return target


@st.composite
def npz_edits(draw: st.DrawFn, names: list[str]) -> tuple[str, str]:
    """(array name, how to spoil it) for an array of an ``.npz`` archive."""
    return draw(st.sampled_from(names)), draw(st.sampled_from(["nan", "shape", "complex", "huge", "truncate", "empty"]))


def _spoil_npz(npz: Path, name: str, how: str) -> None:
    """Spoil array ``name`` of ``npz`` (or cut the whole archive short)."""
    if how == "truncate":
        npz.write_bytes(npz.read_bytes()[: len(npz.read_bytes()) // 2])
        return
    with np.load(npz) as data:
        arrays = {key: np.array(data[key]) for key in data.files}
    value = arrays[name]
    arrays[name] = {
        "nan": np.full(value.shape, np.nan), "shape": np.ones((3, 5)), "complex": value.astype(np.complex64),
        "huge": np.full(value.shape, 1e300), "empty": np.zeros((0,)),
    }[how]
    np.savez(npz, **arrays)


def test_mutated_calibration_records_load_or_compile_refuses_them(files, tmp_path, capsys):
    doc = json.loads(files["calib"].read_text())
    runs = tmp_path / "runs"

    @EXAMPLES
    @given(mutated(doc), st.one_of(st.none(), npz_edits(["lut_phase_rad", "wavefront_phase_rad", "dark_frame", "dark_per_s",
                                                          "gain_frame", "bad_pixels"])))
    def check(record_doc: dict[str, Any], spoil: tuple[str, str] | None) -> None:
        folder = _copy_tree(files["calib"].parent, tmp_path / f"c{len(list(tmp_path.iterdir()))}")
        calib = folder / "calib.json"
        if spoil is not None:
            _spoil_npz(folder / "calib.npz", *spoil)
            record_doc = {**record_doc, "arrays_sha256": hashlib.sha256((folder / "calib.npz").read_bytes()).hexdigest()}
        _write_json(calib, record_doc)
        try:
            CalibrationRecord.load(calib)
            return
        except (ValueError, FileNotFoundError) as exc:  # what the CLI reports as bad input (exit 2)
            assert isinstance(exc, (CalibrationError, FileNotFoundError)), exc
        out = folder / "program"
        code = main(["--runs-dir", str(runs), "compile", str(files["checkpoint"]), "--calib", str(calib), "--bench", str(BENCH),
                     "--out", str(out)])
        _refused_in_one_message(code, capsys.readouterr().err)
        assert not out.exists() and not runs.exists()

    check()


def test_mutated_programs_load_or_infer_refuses_them(files, tmp_path, capsys):
    doc = json.loads((files["program"] / "program.json").read_text())
    runs = tmp_path / "runs"

    @EXAMPLES
    @given(mutated(doc), st.one_of(st.none(), npz_edits(["patterns", "input_corner", "sample_index", "sample_weight", "dark",
                                                          "dark_per_s", "gain", "feature_gain", "feature_offset"])))
    def check(program_doc: dict[str, Any], spoil: tuple[str, str] | None) -> None:
        folder = _copy_tree(files["program"], tmp_path / f"p{len(list(tmp_path.iterdir()))}")
        if spoil is not None:
            _spoil_npz(folder / "arrays.npz", *spoil)
            program_doc = {**program_doc, "arrays_sha256": hashlib.sha256((folder / "arrays.npz").read_bytes()).hexdigest()}
        _write_json(folder / "program.json", program_doc)
        try:
            OpticalProgram.load(folder)
            return
        except (ValueError, FileNotFoundError) as exc:
            assert isinstance(exc, (ProgramError, FileNotFoundError)), exc
        code = main(["--runs-dir", str(runs), "infer", "--bench", str(BENCH), "--program", str(folder), "--dataset", "digits"])
        _refused_in_one_message(code, capsys.readouterr().err)
        assert not runs.exists()

    check()


def test_mutated_checkpoints_load_or_eval_refuses_them(files, tmp_path, capsys):
    meta = json.loads((files["checkpoint"] / "meta.json").read_text())
    runs = tmp_path / "runs"

    @EXAMPLES
    @given(mutated(meta), st.sampled_from([None, "nan", "truncate"]))
    def check(meta_doc: dict[str, Any], spoil: str | None) -> None:
        folder = _copy_tree(files["checkpoint"], tmp_path / f"k{len(list(tmp_path.iterdir()))}")
        weights = folder / "model.safetensors"
        if spoil == "truncate":
            weights.write_bytes(weights.read_bytes()[:100])
        elif spoil == "nan":
            from safetensors.torch import load_file, save_file

            tensors = load_file(str(weights))
            first = sorted(name for name, t in tensors.items() if t.is_floating_point())[0]
            tensors[first] = torch.full_like(tensors[first], float("nan"))
            save_file(tensors, str(weights))
        if spoil is not None and isinstance(meta_doc.get("hashes"), dict):
            meta_doc = {**meta_doc, "hashes": {**meta_doc["hashes"], weights.name: hashlib.sha256(weights.read_bytes()).hexdigest()}}
        _write_json(folder / "meta.json", meta_doc)
        try:
            load_checkpoint(folder, num_classes=10, image_size=8, in_channels=1)
            return
        except ValueError:  # a CheckpointError, or the architecture refusing the metadata's settings
            pass
        code = main(["--runs-dir", str(runs), "eval", str(folder), "--dataset", "digits"])
        _refused_in_one_message(code, capsys.readouterr().err)
        assert not runs.exists()

    check()
