"""Dataset loaders: tiny fake datasets on disk, checked against what was written (amplitude, labels, splits, errors)."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from sklearn.datasets import load_digits as sklearn_digits

from osclc.models.data.arrays import DatasetError, stratified_split
from osclc.models.data.spec import DATASETS, load_dataset, parse_spec


# ---------------------------------------------------------------------------- helpers


def _split_images(splits) -> np.ndarray:
    return np.concatenate([splits.train.x.numpy(), splits.val.x.numpy(), splits.test.x.numpy()])


def _split_labels(splits) -> np.ndarray:
    return np.concatenate([splits.train.y.numpy(), splits.val.y.numpy(), splits.test.y.numpy()])


def _rows_as_set(images: np.ndarray) -> set[bytes]:
    return {np.ascontiguousarray(im).tobytes() for im in images}


# ---------------------------------------------------------------------------- specs and digits


def test_parse_spec_names_and_arguments():
    assert parse_spec("digits") == ("digits", None)
    assert parse_spec("cifar10:/data/c:10") == ("cifar10", "/data/c:10")
    with pytest.raises(DatasetError, match="unknown dataset 'imagenet'"):
        parse_spec("imagenet:/x")
    with pytest.raises(DatasetError, match="empty"):
        parse_spec("  ")
    assert {"digits", "cifar10", "folder", "mnist"} <= set(DATASETS)


def test_digits_amplitude_split_and_seed():
    data = load_dataset("digits", seed=0, val_fraction=0.1)
    reference = sklearn_digits()
    assert (data.num_classes, data.image_size, data.channels, data.task) == (10, 8, 1, "classification")
    n = len(data.train) + len(data.val) + len(data.test)
    assert n == len(reference.images) == 1797
    assert abs(len(data.test) - 0.2 * 1797) <= 2
    assert abs(len(data.val) - 0.1 * (1797 - len(data.test))) <= 2
    # every image is a sklearn digit divided by 16, and every sklearn digit is present exactly once
    ours = _split_images(data)[:, 0]
    expected = (reference.images / 16.0).astype(np.float32)
    assert sorted(_rows_as_set(ours)) == sorted(_rows_as_set(expected))
    assert np.bincount(_split_labels(data), minlength=10).tolist() == np.bincount(reference.target).tolist()
    # stratified: each class has 20 % +- 1 image of its members in the test split
    test_counts = np.bincount(data.test.y.numpy(), minlength=10)
    assert np.all(np.abs(test_counts - 0.2 * np.bincount(reference.target)) <= 1.01)
    again = load_dataset("digits", seed=0)
    other = load_dataset("digits", seed=1)
    assert np.array_equal(again.test.x.numpy(), data.test.x.numpy())
    assert not np.array_equal(other.test.y.numpy(), data.test.y.numpy())


def test_digits_resize_and_colour():
    data = load_dataset("digits", image_size=16, channels=3)
    x = data.train.x.numpy()
    assert x.shape[1:] == (3, 16, 16)
    assert np.array_equal(x[:, 0], x[:, 1]) and np.array_equal(x[:, 0], x[:, 2])
    assert x.min() >= 0.0 and x.max() <= 1.0
    # bilinear enlargement keeps the mean brightness of each image close to the 8 x 8 original
    small = load_dataset("digits").train.x.numpy()
    assert np.allclose(x[:, 0].mean(axis=(1, 2)), small[:, 0].mean(axis=(1, 2)), atol=0.02)


def test_bad_arguments():
    with pytest.raises(DatasetError, match="takes no argument"):
        load_dataset("digits:/x")
    with pytest.raises(DatasetError, match="channels=2"):
        load_dataset("digits", channels=2)
    with pytest.raises(DatasetError, match="val_fraction"):
        load_dataset("digits", val_fraction=0.95)


def test_stratified_split_keeps_class_shares():
    targets = np.repeat(np.arange(4), [10, 20, 30, 40])
    keep, take = stratified_split(targets, 0.1, seed=3)
    assert np.bincount(targets[take]).tolist() == [1, 2, 3, 4]
    assert sorted(np.concatenate([keep, take]).tolist()) == list(range(100))


# ---------------------------------------------------------------------------- CIFAR-10


def _cifar_batch(rng, n: int, protocol: int, bytes_keys: bool) -> tuple[dict, np.ndarray, list[int]]:
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    key = (lambda k: k.encode()) if bytes_keys else (lambda k: k)
    return {key("batch_label"): b"fake", key("labels"): labels, key("data"): data, key("filenames"): [b"a"] * n}, data, labels


@pytest.fixture
def cifar_folder(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    written = {}
    for name, n, protocol, bytes_keys in (("data_batch_1", 12, 2, True), ("data_batch_2", 8, 4, False), ("test_batch", 6, 5, True)):
        batch, data, labels = _cifar_batch(rng, n, protocol, bytes_keys)
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
        written[name] = (data, labels)
    meta = {b"label_names": [f"c{i}".encode() for i in range(10)], b"num_cases_per_batch": 10}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder, written


def test_cifar_reads_batches_in_layout(cifar_folder):
    folder, written = cifar_folder
    data = load_dataset(f"cifar10:{folder.parent}", val_fraction=0.25)
    assert (data.channels, data.image_size, data.num_classes) == (3, 32, 10)
    assert data.class_names[3] == "c3"
    assert len(data.train) + len(data.val) == 20 and len(data.test) == 6
    raw, labels = written["test_batch"]
    # row layout of a CIFAR batch: 1024 red, 1024 green, 1024 blue values, each 32 x 32 row-major
    expected = raw.reshape(6, 3, 32, 32).astype(np.float32) / 255.0
    assert np.allclose(data.test.x.numpy(), expected)
    assert data.test.y.tolist() == labels
    gray = load_dataset(f"cifar10:{folder}", channels=1, image_size=16)
    assert gray.test.x.shape == (6, 1, 16, 16)


def test_cifar_refuses_malicious_pickle(cifar_folder, tmp_path):
    folder, _ = cifar_folder
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": Exploit(), "labels": []}, protocol=2))
    with pytest.raises(DatasetError, match=r"data_batch_3.*refused to unpickle .*system"):
        load_dataset(f"cifar10:{folder}")
    assert not marker.exists()


def test_cifar_bad_files_are_named(cifar_folder, tmp_path):
    folder, _ = cifar_folder
    good = (folder / "data_batch_1").read_bytes()
    (folder / "data_batch_1").write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError, match="data_batch_1: corrupt or truncated"):
        load_dataset(f"cifar10:{folder}")
    batch = {"data": np.zeros((3, 3072), np.uint8), "labels": [1, 2]}
    (folder / "data_batch_1").write_bytes(pickle.dumps(batch))
    with pytest.raises(DatasetError, match="data_batch_1: 3 images but 2 labels"):
        load_dataset(f"cifar10:{folder}")
    batch = {"data": np.zeros((3, 100), np.uint8), "labels": [1, 2, 3]}
    (folder / "data_batch_1").write_bytes(pickle.dumps(batch))
    with pytest.raises(DatasetError, match=r"data_batch_1: 'data' must be a uint8 array"):
        load_dataset(f"cifar10:{folder}")
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset(f"cifar10:{tmp_path / 'missing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no data_batch_"):
        load_dataset(f"cifar10:{tmp_path / 'empty'}")


# ---------------------------------------------------------------------------- image folders


def _write_folder(root: Path, classes: dict[str, int], size=(12, 12), colour=False, seed=0) -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    out: dict[str, list[np.ndarray]] = {}
    for cls, n in classes.items():
        (root / cls).mkdir(parents=True)
        out[cls] = []
        for i in range(n):
            shape = (*size, 3) if colour else size
            image = rng.integers(0, 256, size=shape, dtype=np.uint8)
            cv2.imwrite(str(root / cls / f"{i:03d}.png"), image)  # lossless; colour written as BGR
            out[cls].append(image)
    return out


def test_folder_flat_layout_gray(tmp_path):
    written = _write_folder(tmp_path / "ds", {"dog": 6, "cat": 5})
    (tmp_path / "ds" / "cat" / "notes.txt").write_text("not an image")
    data = load_dataset(f"folder:{tmp_path / 'ds'}", val_fraction=0.2)
    assert data.class_names == ("cat", "dog") and data.channels == 1 and data.image_size == 12
    assert len(data.train) + len(data.val) + len(data.test) == 11
    images, labels = _split_images(data)[:, 0], _split_labels(data)
    for cls, index in (("cat", 0), ("dog", 1)):
        expected = [im.astype(np.float32) / 255.0 for im in written[cls]]
        assert _rows_as_set(images[labels == index]) == _rows_as_set(np.stack(expected))


def test_folder_split_layout_colour_and_gray_conversion(tmp_path):
    root = tmp_path / "high10"
    train = _write_folder(root / "train", {"a": 4, "b": 4}, size=(10, 14), colour=True)
    _write_folder(root / "test", {"a": 2, "b": 2}, size=(10, 14), colour=True, seed=1)
    with pytest.raises(DatasetError, match="is not square; give image_size"):
        load_dataset(f"folder:{root}")
    data = load_dataset(f"folder:{root}", image_size=10, val_fraction=0.25)
    assert (data.channels, data.image_size, len(data.test)) == (3, 10, 2 + 2)
    # centre crop of 10 x 14 to 10 x 10 drops two columns each side; BGR on disk -> RGB amplitude
    bgr = train["a"][0]
    expected_rgb = bgr[:, 2:12, ::-1].transpose(2, 0, 1).astype(np.float32) / 255.0
    images = np.concatenate([data.train.x.numpy(), data.val.x.numpy()])
    assert any(np.array_equal(im, expected_rgb) for im in images)
    gray = load_dataset(f"folder:{root}", image_size=10, channels=1)
    r, g, b = (bgr[:, 2:12, i].astype(np.float64) for i in (2, 1, 0))
    luminance = (0.299 * r + 0.587 * g + 0.114 * b) / 255.0
    gray_images = np.concatenate([gray.train.x.numpy(), gray.val.x.numpy()])[:, 0]
    assert min(np.abs(im - luminance).max() for im in gray_images) <= 1.0 / 255 + 1e-6


def test_folder_errors_name_the_file(tmp_path):
    root = tmp_path / "ds"
    _write_folder(root, {"a": 3, "b": 3})
    (root / "b" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(DatasetError, match="broken.jpg: not a readable image"):
        load_dataset(f"folder:{root}")
    (root / "b" / "broken.jpg").unlink()
    cv2.imwrite(str(root / "b" / "big.png"), np.zeros((20, 20), np.uint8))
    with pytest.raises(DatasetError, match="big.png: 20 x 20 differs from"):
        load_dataset(f"folder:{root}")
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset(f"folder:{tmp_path / 'nothing'}")
    (tmp_path / "empty" / "only").mkdir(parents=True)
    with pytest.raises(DatasetError, match="only: class folder holds no images"):
        load_dataset(f"folder:{tmp_path / 'empty'}")


# ---------------------------------------------------------------------------- IDX (MNIST format)


def _idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    for kind, array, dims in (("images", images, "idx3"), ("labels", labels, "idx1")):
        path = folder / f"{prefix}{kind}-{dims}-ubyte{'.gz' if gz else ''}"
        raw = _idx_bytes(array)
        path.write_bytes(gzip.compress(raw) if gz else raw)


def test_idx_reads_any_count_plain_and_gzipped(tmp_path):
    rng = np.random.default_rng(0)
    train_x, train_y = rng.integers(0, 256, (23, 9, 9)), rng.integers(0, 4, 23)
    test_x, test_y = rng.integers(0, 256, (7, 9, 9)), rng.integers(0, 4, 7)
    _write_idx(tmp_path, "train-", train_x, train_y, gz=True)
    _write_idx(tmp_path, "t10k-", test_x, test_y, gz=False)
    data = load_dataset(f"mnist:{tmp_path}", val_fraction=0.0)
    assert (data.num_classes, data.image_size, data.channels) == (int(max(train_y.max(), test_y.max())) + 1, 9, 1)
    assert np.allclose(data.test.x.numpy()[:, 0], test_x / 255.0)
    assert data.test.y.tolist() == test_y.tolist()
    assert np.allclose(data.train.x.numpy()[:, 0], train_x / 255.0)


def test_idx_errors_name_the_file(tmp_path):
    rng = np.random.default_rng(1)
    _write_idx(tmp_path, "train-", rng.integers(0, 256, (5, 4, 4)), rng.integers(0, 3, 4), gz=False)
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte: 4 labels for 5 images"):
        load_dataset(f"mnist:{tmp_path}")
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-3])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte: .* truncated or corrupt"):
        load_dataset(f"mnist:{tmp_path}")
    images.write_bytes(b"\x08\x03\x00\x00" + bytes(20))
    with pytest.raises(DatasetError, match="not an IDX file"):
        load_dataset(f"mnist:{tmp_path}")
    images.unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: cannot be read or decompressed"):
        load_dataset(f"mnist:{tmp_path}")
    (tmp_path / "sub").mkdir()
    with pytest.raises(DatasetError, match="no \\*images-idx3-ubyte"):
        load_dataset(f"mnist:{tmp_path / 'sub'}")
