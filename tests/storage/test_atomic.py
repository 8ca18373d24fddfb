"""The atomic save helpers: contents, cleanup, failures that leave the old file, folder swaps and file groups."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from osclc.storage import (
    atomic,
    recover,
    save_bytes,
    save_figure,
    save_files,
    save_folder,
    save_json,
    save_npy,
    save_npz,
    save_safetensors,
    save_text,
)


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_each_format_round_trips_and_leaves_no_temporary(tmp_path):
    import torch
    from safetensors.torch import load_file

    assert save_bytes(tmp_path / "deep" / "er" / "a.bin", b"\x00\x01") == tmp_path / "deep" / "er" / "a.bin"
    assert (tmp_path / "deep" / "er" / "a.bin").read_bytes() == b"\x00\x01"
    save_text(tmp_path / "t.md", "µm ok\n")
    assert (tmp_path / "t.md").read_text(encoding="utf-8") == "µm ok\n"
    save_json(tmp_path / "d.json", {"x": np.float32(0.5), "a": np.arange(3), "p": Path("/x/y")})
    assert json.loads((tmp_path / "d.json").read_text()) == {"x": 0.5, "a": [0, 1, 2], "p": "/x/y"}
    save_npz(tmp_path / "z.npz", {"k": np.eye(3)}, compressed=True)
    with np.load(tmp_path / "z.npz", allow_pickle=False) as data:
        assert np.array_equal(data["k"], np.eye(3))
    save_npy(tmp_path / "y.npy", np.arange(6).reshape(2, 3))
    assert np.array_equal(np.load(tmp_path / "y.npy"), np.arange(6).reshape(2, 3))
    save_safetensors(tmp_path / "w.safetensors", {"w": torch.arange(4.0)})
    assert torch.equal(load_file(str(tmp_path / "w.safetensors"))["w"], torch.arange(4.0))
    assert _hidden(tmp_path) == [] and _hidden(tmp_path / "deep" / "er") == []


def test_json_refuses_what_it_cannot_store_and_keeps_the_old_file(tmp_path):
    save_json(tmp_path / "d.json", {"ok": 1})
    with pytest.raises(TypeError, match="cannot store object in a JSON file"):
        save_json(tmp_path / "d.json", {"bad": object()})
    assert json.loads((tmp_path / "d.json").read_text()) == {"ok": 1} and _hidden(tmp_path) == []


def test_figure_is_rendered_in_the_format_of_its_suffix(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / "p.png", dpi=50)
    save_figure(fig, tmp_path / "p.svg")
    plt.close(fig)
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "p.svg").read_bytes()[:400]
    from PIL import Image

    assert Image.open(tmp_path / "p.png").size == (100, 100)  # 2 in x 50 dpi


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path, monkeypatch):
    save_text(tmp_path / "calib.json", "old")

    def full_disk(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        save_text(tmp_path / "calib.json", "new")
    monkeypatch.undo()
    assert (tmp_path / "calib.json").read_text() == "old" and _hidden(tmp_path) == []


def test_every_save_flushes_its_files_and_then_their_folder(tmp_path, monkeypatch):
    flushed: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        mode = os.fstat(descriptor).st_mode
        flushed.append("folder" if stat.S_ISDIR(mode) else f"file of {os.fstat(descriptor).st_size} bytes")
        real_fsync(descriptor)

    monkeypatch.setattr(atomic.os, "fsync", recording_fsync)
    save_bytes(tmp_path / "a.bin", b"12345")
    assert flushed == ["file of 5 bytes", "folder"]  # the data before the rename, the rename after it
    flushed.clear()
    with save_folder(tmp_path / "prog") as work:
        (work / "pattern.png").write_bytes(b"123")  # written by another library (cv2.imwrite)
        (work / "sub").mkdir()
        (work / "sub" / "x").write_bytes(b"1")
    assert sorted(flushed) == ["file of 1 bytes", "file of 3 bytes", "folder", "folder", "folder"]


def test_temporaries_of_dead_processes_are_swept_and_live_ones_kept(tmp_path):
    dead, live = _dead_pid(), os.getpid()
    (tmp_path / f".m.json.{dead}-0a1b2c3d.tmp").write_text("partial")
    (tmp_path / f".m.json.{dead}-0a1b2c3e.old").mkdir()
    (tmp_path / f".m.json.{live}-0a1b2c3f.tmp").write_text("being written")
    (tmp_path / f".other.json.{dead}-0a1b2c3d.tmp").write_text("another target's")
    save_text(tmp_path / "m.json", "{}")
    assert _hidden(tmp_path) == [f".m.json.{live}-0a1b2c3f.tmp", f".other.json.{dead}-0a1b2c3d.tmp"]


def _fill(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        save_text(folder / name, text)


def _contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_folder_is_replaced_as_a_whole(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    with save_folder(tmp_path / "prog") as work:
        _fill(work, {"a": "1", "stale": "x"})
    with save_folder(tmp_path / "prog") as work:
        assert work.parent == tmp_path and work.name.startswith(".prog.") and not list(work.iterdir())
        _fill(work, {"a": "2", "b": "3"})
        assert _contents(tmp_path / "prog") == {"a": "1", "stale": "x"}  # untouched until the block ends
    assert _contents(tmp_path / "prog") == {"a": "2", "b": "3"} and _hidden(tmp_path) == []


def test_an_exception_while_filling_leaves_the_old_folder(tmp_path):
    with save_folder(tmp_path / "prog") as work:
        _fill(work, {"a": "1"})
    with pytest.raises(KeyboardInterrupt), save_folder(tmp_path / "prog") as work:
        _fill(work, {"a": "2"})
        raise KeyboardInterrupt
    assert _contents(tmp_path / "prog") == {"a": "1"} and _hidden(tmp_path) == []


def test_a_file_where_the_folder_goes_is_refused(tmp_path):
    (tmp_path / "prog").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match="prog: exists and is not a folder"):
        with save_folder(tmp_path / "prog"):
            pass


def test_recover_puts_back_a_folder_from_each_state_of_the_two_rename_swap(tmp_path):
    """The fallback swap: ``.new`` complete -> target renamed to ``.old`` -> ``.new`` renamed to the target."""
    dead = _dead_pid()
    target = tmp_path / "last"
    new, old = tmp_path / f".last.{dead}-00000001.new", tmp_path / f".last.{dead}-00000001.old"

    def state(target_is: str | None, new_exists: bool, old_exists: bool) -> None:
        for path in (target, new, old):
            if path.exists():
                for child in path.iterdir():
                    child.unlink()
                path.rmdir()
        for path, files, present in ((new, {"v": "new"}, new_exists), (old, {"v": "old"}, old_exists)):
            if present:
                path.mkdir()
                _fill(path, files)
        if target_is is not None:
            target.mkdir()
            _fill(target, {"v": target_is})

    for target_is, new_exists, old_exists, expected in (
        ("old", True, False, "old"),  # killed before the first rename: the save never happened
        (None, True, True, "new"),  # killed between the renames: the complete new folder goes in
        (None, False, True, "old"),  # only the previous folder is left: it goes back
        ("new", False, True, "new"),  # killed before the old folder was removed
    ):
        state(target_is, new_exists, old_exists)
        recover(target)
        assert _contents(target) == {"v": expected}, (target_is, new_exists, old_exists)
        with save_folder(target) as work:  # the next save sweeps what the dead process left
            _fill(work, {"v": "next"})
        assert _contents(target) == {"v": "next"} and _hidden(tmp_path) == []


def test_file_group_journal_is_replayed_and_checked(tmp_path):
    save_files({tmp_path / "c.json": b"old json", tmp_path / "c.npz": b"old npz"})
    assert _hidden(tmp_path) == []
    # a kill after the commit point, after the first of the two renames
    (tmp_path / ".c.npz.1-00000001.tmp").write_bytes(b"new npz")
    (tmp_path / "c.json").write_bytes(b"new json")
    save_json(tmp_path / ".c.json.commit", [[".c.json.1-00000001.tmp", "c.json"], [".c.npz.1-00000001.tmp", "c.npz"]])
    recover(tmp_path / "c.json")
    assert (tmp_path / "c.json").read_bytes() == b"new json" and (tmp_path / "c.npz").read_bytes() == b"new npz"
    assert _hidden(tmp_path) == []
    save_json(tmp_path / ".c.json.commit", [["../../etc/passwd", "c.json"]])
    with pytest.raises(ValueError, match=r"\.c\.json\.commit: a save journal names files outside its folder"):
        recover(tmp_path / "c.json")
    save_text(tmp_path / ".c.json.commit", "{")
    with pytest.raises(ValueError, match=r"\.c\.json\.commit: unreadable save journal"):
        recover(tmp_path / "c.json")
    with pytest.raises(ValueError, match="one folder"):
        save_files({tmp_path / "a": b"", tmp_path / "sub" / "b": b""})
