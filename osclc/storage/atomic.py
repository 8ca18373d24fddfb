"""Saving files so that a kill at any moment leaves the old or the new version, never a partial one.

One mechanism, :func:`save_bytes`: write to a temporary name in the same folder
(``.<name>.<pid>-<hex>.tmp``), flush and fsync it, ``os.replace`` it onto the target, fsync the folder.
Every format is a thin wrapper over it (:func:`save_text`, :func:`save_json`, :func:`save_npz`,
:func:`save_npy`, :func:`save_safetensors`, :func:`save_figure`). Two variants build on it:

- :func:`save_folder` writes a whole folder under a temporary name and swaps it in as a whole: one
  ``renameat2(RENAME_EXCHANGE)`` on Linux, so the target always exists and holds the old or the new
  folder. Where the system cannot exchange, two renames (``<target>`` -> ``.<name>.<token>.old``, the
  complete ``.<name>.<token>.new`` -> ``<target>``) and :func:`recover` puts a folder back in place.
- :func:`save_files` replaces several files of one folder together (a JSON document and the arrays it
  hashes): each is written to a temporary name, then a journal ``.<first name>.commit`` listing the renames
  is saved (the commit point), then the renames are done and the journal removed. :func:`recover` replays
  a journal left by a kill, so readers see all old files or all new ones.

Readers of folders and file groups call :func:`recover` first (two ``stat`` calls when nothing was
interrupted). Temporaries left by killed processes are removed by the next save of the same target.
One process saves a given target at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from osclc.storage.formats import (
    Figure,
    encode_figure,
    encode_json,
    encode_npy,
    encode_npz,
    encode_safetensors,
    json_default,
)

if TYPE_CHECKING:
    import torch

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_KINDS = ("tmp", "new", "old")


# ---------------------------------------------------------------------- one file


def save_bytes(path: str | Path, data: bytes) -> Path:
    """Replace ``path`` with ``data`` atomically (temporary name, fsync, rename, fsync of the folder); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep(path)
    temp = _write_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def save_text(path: str | Path, text: str) -> Path:
    """Replace ``path`` with ``text`` (UTF-8) atomically."""
    return save_bytes(path, text.encode("utf-8"))


def save_json(
    path: str | Path, data: object, *, indent: int | None = 2, default: Callable[[object], object] = json_default
) -> Path:
    """Replace ``path`` with ``data`` as JSON atomically (NumPy values, paths and pydantic models converted)."""
    return save_bytes(path, encode_json(data, indent=indent, default=default))


def save_npz(path: str | Path, arrays: Mapping[str, np.ndarray], *, compressed: bool = False) -> Path:
    """Replace ``path`` with a ``.npz`` archive of ``arrays`` atomically."""
    return save_bytes(path, encode_npz(arrays, compressed=compressed))


def save_npy(path: str | Path, array: np.ndarray) -> Path:
    """Replace ``path`` with a ``.npy`` file of ``array`` atomically."""
    return save_bytes(path, encode_npy(array))


def save_safetensors(path: str | Path, tensors: Mapping[str, torch.Tensor]) -> Path:
    """Replace ``path`` with a safetensors file of ``tensors`` atomically."""
    return save_bytes(path, encode_safetensors(tensors))


def save_figure(figure: Figure, path: str | Path, *, dpi: float | None = None) -> Path:
    """Replace ``path`` with ``figure`` rendered in the format of its suffix (``dpi`` dots per inch) atomically."""
    path = Path(path)
    return save_bytes(path, encode_figure(figure, path.suffix, dpi=dpi))


# ---------------------------------------------------------------------- files that belong together


def save_files(contents: Mapping[Path, bytes]) -> list[Path]:
    """Replace several files of one folder together: after a kill, :func:`recover` of the first gives all old or all new.

    The first path is the one readers open first (a JSON document naming and hashing the others).
    """
    paths = [Path(p) for p in contents]
    if not paths or len({p.parent for p in paths}) != 1:
        raise ValueError(f"save_files needs one or more files of one folder, got {[str(p) for p in paths]}")
    journal = _journal(paths[0])
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    recover(paths[0])
    for path in paths:
        _sweep(path)
    temps: list[Path] = []
    try:
        for path, data in zip(paths, contents.values(), strict=True):
            temps.append(_write_temp(path, data))
        save_json(journal, [[temp.name, path.name] for temp, path in zip(temps, paths, strict=True)])
    except BaseException:
        if journal.exists():  # committed: finish it
            _replay(journal)
        for temp in temps:
            temp.unlink(missing_ok=True)
        raise
    _replay(journal)
    return paths


def _journal(path: Path) -> Path:
    return path.with_name(f".{path.name}.commit")


def _replay(journal: Path) -> None:
    """Do the renames a committed journal lists (those not done yet), then remove it."""
    try:
        pairs = json.loads(journal.read_text(encoding="utf-8"))
        names = [(str(temp), str(final)) for temp, final in pairs]
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise ValueError(f"{journal}: unreadable save journal ({exc}); delete it to keep the files beside it as they are") from exc
    if any(Path(name).name != name or name in ("", ".", "..") for pair in names for name in pair):
        raise ValueError(f"{journal}: a save journal names files outside its folder; delete it")
    for temp, final in names:
        if (journal.parent / temp).exists():
            os.replace(journal.parent / temp, journal.parent / final)
    _fsync_dir(journal.parent)
    journal.unlink(missing_ok=True)
    _fsync_dir(journal.parent)


# ---------------------------------------------------------------------- folders


@contextmanager
def save_folder(path: str | Path) -> Iterator[Path]:
    """Write the folder ``path`` as a whole: yields an empty temporary folder beside it to fill.

    When the block ends normally, every file in it is fsynced and it replaces ``path`` in one step (the
    previous folder is removed); on an exception it is removed and ``path`` is left as it was.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{path}: exists and is not a folder; give a folder path (or remove the file)")
    path.parent.mkdir(parents=True, exist_ok=True)
    recover(path)
    _sweep(path)
    work = _temp_name(path, "tmp")
    work.mkdir()
    try:
        yield work
        _fsync_tree(work)
        _swap_in(work, path)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _swap_in(work: Path, path: Path) -> None:
    if not os.path.lexists(path):
        os.rename(work, path)
    elif _exchange(work, path):
        _fsync_dir(path.parent)
        shutil.rmtree(work)  # now the previous folder
        return
    else:  # two renames; recover() finishes them after a kill
        ready = work.with_suffix(".new")
        os.rename(work, ready)
        _fsync_dir(path.parent)
        old = work.with_suffix(".old")
        os.rename(path, old)
        os.rename(ready, path)
        _fsync_dir(path.parent)
        shutil.rmtree(old)
    _fsync_dir(path.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2``); False where the system or file system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, f"cannot swap in the new folder: {os.strerror(code)}", str(b))


@functools.lru_cache(maxsize=1)
def _renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # C library older than glibc 2.28
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


# ---------------------------------------------------------------------- recovery and housekeeping


def recover(path: str | Path) -> None:
    """Finish (or undo) a save of ``path`` that a kill interrupted, so ``path`` holds its old or its new version.

    Replays a committed :func:`save_files` journal; puts back a folder that a fallback :func:`save_folder`
    swap left missing (the complete new one, else the previous one). Does nothing when no save was interrupted.
    """
    path = Path(path)
    journal = _journal(path)
    if journal.exists():
        _replay(journal)
    if os.path.lexists(path):
        return
    for kind in ("new", "old"):
        found = sorted(_leftovers(path, kind), key=lambda p: p.stat().st_mtime_ns)
        if found:
            os.rename(found[-1], path)
            _fsync_dir(path.parent)
            return


def _temp_name(path: Path, kind: str) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.{kind}")


def _leftovers(path: Path, kind: str, dead_only: bool = False) -> list[Path]:
    """Temporaries of saves of ``path`` (``kind``: tmp, new, old), optionally only those of processes that are gone."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)-[0-9a-f]+\.{kind}")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    out = []
    for name in names:
        match = pattern.fullmatch(name)
        if match and not (dead_only and pid_alive(int(match.group(1)))):
            out.append(path.parent / name)
    return out


def _sweep(path: Path) -> None:
    """Remove the temporaries that killed saves of ``path`` left (run after :func:`recover`)."""
    for kind in _KINDS:
        for leftover in _leftovers(path, kind, dead_only=True):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` of this machine runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _write_temp(path: Path, data: bytes) -> Path:
    temp = _temp_name(path, "tmp")
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _fsync_dir(folder: Path) -> None:
    """Make renames in ``folder`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError as exc:  # some file systems refuse fsync on a folder; the rename itself is still atomic
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(descriptor)


def _fsync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder`` (files written by other libraries, e.g. PNG writers)."""
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(Path(root))
