"""Reading the ``.npz`` arrays beside a calibration record or a program, with one error naming the file and the fix.

A truncated or corrupt archive (``zipfile.BadZipFile``, a cut-off member: ``EOFError``, a bad deflate
stream: ``zlib.error``), a file that is not an ``.npz`` archive, an object array (refused: no pickle) or a
missing array all become the caller's error type (a ``ValueError``: the CLI prints one line and exits 2).
"""

from __future__ import annotations

import pickle
import zipfile
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, pickle.UnpicklingError)


def load_npz_arrays(path: Path, names: Sequence[str], error: type[ValueError], fix: str) -> dict[str, np.ndarray]:
    """The arrays ``names`` of the ``.npz`` file ``path`` (``allow_pickle=False``); ``error`` naming the file and ``fix``."""
    try:
        data = np.load(path, allow_pickle=False)
    except _UNREADABLE as exc:
        raise error(f"{path}: not a readable array archive ({type(exc).__name__}: {exc}); {fix}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise error(f"{path}: holds one array, not an .npz archive of named arrays; {fix}")
    with data:
        missing = [name for name in names if name not in data.files]
        if missing:
            raise error(f"{path}: lacks the array(s) {', '.join(missing)}; {fix}")
        try:
            return {name: np.array(data[name]) for name in names}
        except _UNREADABLE as exc:
            raise error(f"{path}: an array cannot be read ({type(exc).__name__}: {exc}); {fix}") from None
