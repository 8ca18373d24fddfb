"""SIGKILL inside a save, before every change it makes on disk and at drawn points while encoding: the target holds the old
or the new complete version, never a partial one or none (#15 items 12 and 13)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from osclc.calibration.program import OpticalProgram
from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.backend_files import has_backend, load_backend, save_backend
from osclc.models.layers.backend import Backend
from osclc.models.networks.architecture import ClassificationArch, build_model
from osclc.models.training.checkpoints import (
    CheckpointMeta,
    ResumeState,
    load_checkpoint,
    load_resume_state,
    save_checkpoint,
)
from osclc.storage import atomic, save_json

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _no_fsync(monkeypatch):
    """fsync protects against power loss; a killed process loses nothing of the page cache, so these tests skip
    the (slow, on a shared disk) flushes. test_atomic.py checks that every save flushes its file and folder."""
    monkeypatch.setattr(os, "fsync", lambda descriptor: None)


def _no_leftovers_after_next_save(folder: Path, name: str) -> None:
    """What a killed save leaves beside the target is removed by the next save (the killed process is gone)."""
    assert not [p for p in folder.iterdir() if p.name.startswith(f".{name}.") and p.name.endswith((".tmp", ".new", ".old"))]


def test_json_file(tmp_path, kill_harness):
    path = tmp_path / "metrics.json"
    old, new = {"v": "old"}, {"v": "new", "pad": list(range(100))}

    def check(at: int) -> None:
        assert json.loads(path.read_text()) in (old, new), f"killed at event {at}"

    assert kill_harness.every_point(lambda: save_json(path, old), lambda: save_json(path, new), check, extra=5) >= 8
    _no_leftovers(tmp_path, path.name)


def _records() -> tuple[CalibrationRecord, CalibrationRecord]:
    config = BenchConfig()
    old, new = CalibrationRecord.identity(config), CalibrationRecord.identity(config)
    old.dark_frame[:] = 1.0
    new.dark_frame[:] = 2.0
    new.dark_exposure_s = old.dark_exposure_s * 2
    return old, new


def test_calibration_record_the_json_and_its_npz_stay_a_pair(tmp_path, kill_harness):
    """``calibrate --out existing.json`` killed while saving truncated the old record (#15 item 12)."""
    old, new = _records()
    path = tmp_path / "calib.json"

    def check(at: int) -> None:
        loaded = CalibrationRecord.load(path)  # finishes a committed save; refuses a mismatched pair
        which = {1.0: old, 2.0: new}[float(loaded.dark_frame.flat[0])]
        assert loaded.dark_exposure_s == which.dark_exposure_s, f"a mixed record after a kill at event {at}"
        assert np.array_equal(loaded.dark_frame, which.dark_frame)

    assert kill_harness.every_point(lambda: old.save(path), lambda: new.save(path), check) >= 15
    _no_leftovers(tmp_path, "calib.json")
    _no_leftovers(tmp_path, "calib.npz")


def _programs() -> tuple[OpticalProgram, OpticalProgram]:
    camera = (16, 20)
    fields = dict(
        multiplex="time", encoding="double_phase", detector="intensity",
        patterns=np.arange(2 * 6 * 8, dtype=np.uint8).reshape(2, 6, 8), pattern_channels=[[0], [1]], slm_bit_depth=8,
        input_shape=(12, 12), input_size=3, input_corner=np.array([[2, 4]]), input_scale=2, out_size=(2, 2),
        camera_shape=camera, sample_index=np.zeros((2, 4, 16), dtype=np.int64), sample_weight=np.full((2, 4, 16), 1 / 16),
        dark=np.full(camera, 10.0), dark_per_s=np.full(camera, 1000.0), gain=np.full(camera, 2.0),
        feature_gain=np.array([1.0, 3.0]), feature_offset=np.array([0.0, -1.0]), exposure_s=1e-3, model_hash="m" * 64,
        calibration_hash="c" * 64, bench_hash="b" * 64, frame_rate_hz={"time": 10.0, "space": None},
    )
    new = fields | {"patterns": fields["patterns"][:1] + 1, "pattern_channels": [[0, 1]], "model_hash": "n" * 64}
    return OpticalProgram(**fields), OpticalProgram(**new)


def test_program_folder_with_its_backend(tmp_path, kill_harness):
    """``compile --out existing_dir`` killed while saving left truncated files in the old program (#15 item 12)."""
    old, new = _programs()
    torch.manual_seed(0)
    backends = {"m" * 64: Backend(2, 2, 2, 10), "n" * 64: Backend(2, 2, 2, 10)}
    folder = tmp_path / "program"

    def save(program: OpticalProgram) -> Path:
        return program.save(folder, also=lambda work: save_backend(work, backends[program.model_hash], {"for": program.model_hash}))

    def check(at: int) -> None:
        loaded = OpticalProgram.load(folder, bench_hash="b" * 64)
        assert loaded.model_hash in backends and has_backend(folder), f"killed at event {at}"
        assert np.array_equal(loaded.patterns, (old if loaded.model_hash == "m" * 64 else new).patterns)
        backend, info = load_backend(folder)
        assert info == {"for": loaded.model_hash}, f"a program with another program's backend after a kill at event {at}"
        for key, value in backend.state_dict().items():
            assert torch.equal(value, backends[loaded.model_hash].state_dict()[key])

    assert kill_harness.every_point(lambda: save(old), lambda: save(new), check) >= 30
    _no_leftovers(tmp_path, folder.name)


def test_backend_saved_into_an_existing_program(tmp_path, kill_harness):
    """``finetune`` rewrites backend.json + backend.safetensors in place: they stay a matching pair."""
    torch.manual_seed(0)
    backends = {"old": Backend(2, 2, 2, 10), "new": Backend(2, 2, 2, 10)}
    folder = tmp_path / "program"

    def check(at: int) -> None:
        backend, info = load_backend(folder)
        for key, value in backend.state_dict().items():
            assert torch.equal(value, backends[info["v"]].state_dict()[key]), f"killed at event {at}"

    save = {v: (lambda v=v: save_backend(folder, backends[v], {"v": v})) for v in backends}
    assert kill_harness.every_point(save["old"], save["new"], check) >= 15


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_checkpoint_last_survives_a_kill_at_every_step(tmp_path, kill_harness, monkeypatch, exchange):
    """A kill between the two renames of a checkpoint save left no ``last``, so ``--resume`` failed (#15 item 13).

    With ``renameat2`` the swap is one step; without it (other systems) loading puts a folder back."""
    if not exchange:
        monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    arch = ClassificationArch(variant="sclc")
    torch.manual_seed(0)
    models = {2: build_model(arch, 1, 8, 10), 3: build_model(arch, 1, 8, 10)}
    optimiser = torch.optim.Adam(models[3].parameters(), lr=1e-3)
    models[3](torch.rand(2, 1, 8, 8)).abs().sum().backward()
    optimiser.step()
    last = tmp_path / "checkpoints" / "last"

    def save(epoch: int) -> Path:
        meta = CheckpointMeta(arch=arch, in_channels=1, image_size=8, num_classes=10, dataset="digits", epoch=epoch)
        return save_checkpoint(last, models[epoch], meta, ResumeState(epoch, optimiser.state_dict(), [], {}))

    def check(at: int) -> None:
        model, meta = load_checkpoint(last)  # what --resume reads
        assert load_resume_state(last).epoch == meta.epoch in models, f"killed at event {at}"
        for key, value in model.state_dict().items():
            assert torch.equal(value, models[meta.epoch].state_dict()[key])

    assert kill_harness.every_point(lambda: save(2), lambda: save(3), check) >= 20
    _no_leftovers(last.parent, "last")


def _no_leftovers(folder: Path, name: str) -> None:
    """What killed saves left beside the target was removed by the next save (the killed processes are gone)."""
    assert not [p.name for p in folder.iterdir() if p.name.startswith(f".{name}.")]
