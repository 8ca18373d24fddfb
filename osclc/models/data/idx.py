"""``mnist:PATH``: MNIST-format IDX files (MNIST, Fashion-MNIST, EMNIST, ...), plain or gzipped.

PATH is a folder holding ``<prefix>images-idx3-ubyte[.gz]`` files, each with its labels file
``<prefix>labels-idx1-ubyte[.gz]`` (the same name with ``images``/``idx3`` replaced by
``labels``/``idx1``). A pair whose name contains ``t10k`` or ``test`` is the test split, the
one containing ``train`` (or the only pair) the training split; without a test pair, 20 % of
the training images are held out. Any number of images is accepted (taken from the header).
Classes: 0 .. max label. Amplitude = value / 255.

IDX format: big-endian; 2 zero bytes, a type byte (0x08 = unsigned byte, the only one MNIST
uses and the only one accepted here), the number of dimensions, then one int32 per dimension,
then the values in row-major order.
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import numpy as np

from osclc.models.data.arrays import DatasetError, DatasetRequest, DatasetSplits, make_splits, prepare_images, request_folder

IMAGES_PATTERN = re.compile(r"^(?P<prefix>.*)images[-.]idx3[-.]ubyte(?P<gz>\.gz)?$")
UBYTE = 0x08


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX file of unsigned bytes with ``ndim`` dimensions -> uint8 array; DatasetError names a bad file."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: cannot be read or decompressed ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    if raw[2] != UBYTE:
        raise DatasetError(f"{path}: IDX type 0x{raw[2]:02x}; only unsigned bytes (0x08) are supported")
    if raw[3] != ndim:
        raise DatasetError(f"{path}: {raw[3]} dimension(s), expected {ndim} ({'images' if ndim == 3 else 'labels'})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated header")
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DatasetError(f"{path}: {len(raw)} bytes but the header {dims} needs {expected}; the file is truncated or corrupt")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _labels_path(images: Path) -> Path:
    """The labels file beside ``images`` (plain or gzipped, whichever exists; the same compression first)."""
    name = images.name.replace("images", "labels", 1).replace("idx3", "idx1", 1)
    plain = name.removesuffix(".gz")
    candidates = [name] + [n for n in (plain, plain + ".gz") if n != name]
    for candidate in candidates:
        if (images.parent / candidate).exists():
            return images.parent / candidate
    return images.with_name(name)


def read_pair(images_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, H, W, 1]`` uint8 and labels ``[N]`` of one IDX pair, counts checked."""
    labels_path = _labels_path(images_path)
    if not labels_path.exists():
        raise DatasetError(f"{images_path}: its labels file {labels_path.name} is missing beside it")
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1).astype(np.int64)
    if len(images) != len(labels):
        raise DatasetError(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}")
    return images[:, :, :, None], labels


def _pairs(folder: Path) -> tuple[Path, Path | None]:
    found = sorted(p for p in folder.iterdir() if p.is_file() and IMAGES_PATTERN.match(p.name))
    # the same file both plain and gzipped: read the plain one
    found = [p for p in found if not (p.suffix == ".gz" and p.with_suffix("") in found)]
    if not found:
        raise DatasetError(f"{folder}: no *images-idx3-ubyte[.gz] files; give the folder of the MNIST-format files")
    test = [p for p in found if re.search(r"t10k|test", p.name)]
    train = [p for p in found if p not in test]
    if len(train) != 1 or len(test) > 1:
        names = ", ".join(p.name for p in found)
        raise DatasetError(f"{folder}: expected one training and at most one test images file, found {names}")
    return train[0], (test[0] if test else None)


def load_idx(request: DatasetRequest) -> DatasetSplits:
    """MNIST-format IDX dataset from the folder ``request.argument``."""
    spec, folder = request_folder(request, "mnist", "/data/mnist", "the folder of the *-images-idx3-ubyte files")
    train_path, test_path = _pairs(folder)
    train_images, train_labels = read_pair(train_path)
    train = (prepare_images(train_images, request.image_size, request.channels, str(train_path)), train_labels)
    test = None
    labels = [train_labels]
    if test_path is not None:
        test_images, test_labels = read_pair(test_path)
        test = (prepare_images(test_images, request.image_size, request.channels, str(test_path)), test_labels)
        labels.append(test_labels)
    num_classes = int(max(int(y.max()) for y in labels if y.size)) + 1
    names = tuple(str(i) for i in range(num_classes))
    return make_splits(request, spec, train, test, num_classes, names)
