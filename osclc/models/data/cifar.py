"""``cifar10:PATH``: the CIFAR-10 "python version" folder (``data_batch_1`` .. ``data_batch_5``, ``test_batch``).

PATH is the ``cifar-10-batches-py`` folder (or a folder containing it). Any number of
``data_batch_*`` files is accepted; ``test_batch`` is the test split (without it, 20 % of the
training images are held out); ``batches.meta`` gives the class names when present. Images are
32 x 32 RGB, amplitude = value / 255.

Why a restricted unpickler: the CIFAR-10 python batches *are* pickles (the format is fixed by
the dataset's authors), and unpickling an arbitrary file can run arbitrary code. The
:class:`RestrictedUnpickler` here resolves only the globals needed to rebuild a dict of bytes,
lists and numpy arrays (``numpy`` array reconstruction and ``dtype``, and ``_codecs.encode``
for bytes written with protocol 2); anything else (``os.system``, ``builtins.eval``, a class)
is refused with a :class:`DatasetError` naming the file, before it is called.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from osclc.models.data.arrays import DatasetError, DatasetRequest, DatasetSplits, check_channels, make_splits, prepare_images

SAFE_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }
)
"""(module, name) pairs a CIFAR batch pickle may reference: numpy array rebuilding and bytes only."""

IMAGE_SIDE = 32
BATCH_ROW = 3 * IMAGE_SIDE * IMAGE_SIDE


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds only dicts, lists, str/bytes, numbers and numpy arrays."""

    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file, encoding="bytes")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in SAFE_GLOBALS:
            return super().find_class(module, name)
        raise DatasetError(
            f"{self.source}: refused to unpickle {module}.{name}: a CIFAR-10 batch only holds a dict of "
            "bytes, lists and numpy arrays; this file is not a genuine batch (it may be malicious)"
        )


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch file -> ``(images uint8 [N, 32, 32, 3] RGB, labels int64 [N])``, validated."""
    batch = _unpickle(path)
    if not isinstance(batch, dict):
        raise DatasetError(f"{path}: a CIFAR-10 batch is a dict, this file holds a {type(batch).__name__}")
    data, labels = batch.get("data"), batch.get("labels")
    if data is None or labels is None:
        raise DatasetError(f"{path}: a CIFAR-10 batch needs 'data' and 'labels' entries, found {sorted(batch)}")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != BATCH_ROW:
        shape = getattr(data, "shape", None)
        raise DatasetError(
            f"{path}: 'data' must be a uint8 array [N, {BATCH_ROW}] (32 x 32 RGB), got "
            f"{type(data).__name__} {getattr(data, 'dtype', '')} {shape}"
        )
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: 'labels' must be a list of integers ({exc})") from exc
    if labels.shape != (len(data),):
        raise DatasetError(f"{path}: {len(data)} images but {labels.size} labels; the counts must match")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(f"{path}: labels must be 0..9, found {labels.min()}..{labels.max()}")
    images = data.reshape(-1, 3, IMAGE_SIDE, IMAGE_SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _unpickle(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc})") from exc
    try:
        obj = RestrictedUnpickler(io.BytesIO(raw), str(path)).load()
    except DatasetError:
        raise
    except Exception as exc:  # a truncated or corrupt pickle raises many kinds of errors
        raise DatasetError(f"{path}: corrupt or truncated CIFAR-10 batch ({type(exc).__name__}: {exc})") from exc
    return _decode_keys(obj)


def _decode_keys(obj: Any) -> Any:
    """Python-2 pickles come back with bytes keys; make dict keys str."""
    if isinstance(obj, dict):
        return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
    return obj


def _class_names(folder: Path) -> tuple[str, ...]:
    meta_path = folder / "batches.meta"
    default = tuple(str(i) for i in range(10))
    if not meta_path.exists():
        return default
    meta = _unpickle(meta_path)
    names = meta.get("label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != 10:
        raise DatasetError(f"{meta_path}: 'label_names' must be a list of 10 names")
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)


def find_batches_folder(path: str) -> Path:
    """The folder holding ``data_batch_*``: PATH itself or PATH/cifar-10-batches-py."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"cifar10:{path}: no such folder; give the cifar-10-batches-py folder")
    for candidate in (folder, folder / "cifar-10-batches-py"):
        if sorted(candidate.glob("data_batch_*")):
            return candidate
    raise DatasetError(
        f"{folder}: no data_batch_* files here or in {folder / 'cifar-10-batches-py'}; "
        "give the folder of the CIFAR-10 python batches"
    )


def load_cifar10(request: DatasetRequest) -> DatasetSplits:
    """CIFAR-10 from its python batches folder (``request.argument``)."""
    if not request.argument:
        raise DatasetError("cifar10: needs a folder, e.g. 'cifar10:/data/cifar-10-batches-py'")
    check_channels(request.channels, f"cifar10:{request.argument}")
    folder = find_batches_folder(request.argument)
    train_parts = [read_batch(p) for p in sorted(folder.glob("data_batch_*"))]
    train_images = np.concatenate([x for x, _ in train_parts])
    train_labels = np.concatenate([y for _, y in train_parts])
    spec = f"cifar10:{request.argument}"
    prepared = prepare_images(train_images, request.image_size, request.channels, str(folder))
    test = None
    if (folder / "test_batch").exists():
        test_images, test_labels = read_batch(folder / "test_batch")
        test = (prepare_images(test_images, request.image_size, request.channels, str(folder / "test_batch")), test_labels)
    return make_splits(request, spec, (prepared, train_labels), test, 10, _class_names(folder))
