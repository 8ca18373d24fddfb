"""Hashing: one SHA-256 for files and folders, checked against hashlib on the same bytes."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from osclc.storage import content_hash, sha256_bytes, sha256_file


def test_file_hash_is_the_sha256_of_its_bytes(tmp_path):
    data = np.random.default_rng(0).bytes(3 * (1 << 20) + 17)  # more than one read block
    (tmp_path / "f.bin").write_bytes(data)
    assert sha256_file(tmp_path / "f.bin") == hashlib.sha256(data).hexdigest() == sha256_bytes(data)
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_folder_hash_covers_names_and_bytes_in_sorted_order(tmp_path):
    folder = tmp_path / "ckpt"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_bytes(b"bee")
    (folder / "a.txt").write_bytes(b"ay")
    (folder / "sub" / "c").write_bytes(b"sea")
    expected = hashlib.sha256(b"a.txt" + b"ay" + b"b.txt" + b"bee" + b"sub/c" + b"sea").hexdigest()
    assert sha256_file(folder) == expected
    (folder / "a.txt").rename(folder / "z.txt")  # same bytes, another name: another hash
    assert sha256_file(folder) != expected


def test_missing_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.bin"):
        sha256_file(tmp_path / "nothing.bin")


def test_content_hash_is_blake2b_256_of_the_parts_in_order():
    parts = [b"kernel", memoryview(np.arange(4, dtype=np.float64)).cast("B"), b"P=8"]
    expected = hashlib.blake2b(b"kernel" + np.arange(4, dtype=np.float64).tobytes() + b"P=8", digest_size=32).hexdigest()
    assert content_hash(parts) == expected
