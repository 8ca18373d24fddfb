"""The one home of hashing: SHA-256 of files and folders (identities recorded in manifests, records and
checkpoints) and of bytes, and BLAKE2b-256 of in-memory content (model and calibration identities)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

BLOCK = 1 << 20
"""Bytes read at a time while hashing a file."""


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes; of a folder: of each file's relative name and bytes, in sorted order.

    A folder's hash therefore changes when a file is renamed, added, removed or edited. Raises
    :class:`FileNotFoundError` (naming the path) when ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: cannot hash a file that does not exist")
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(BLOCK), b""):
                digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (e.g. a canonical JSON text, encoded)."""
    return hashlib.sha256(data).hexdigest()


def content_hash(parts: Iterable[bytes | memoryview]) -> str:
    """Hex BLAKE2b-256 of ``parts`` fed in order (identity of in-memory content such as arrays)."""
    digest = hashlib.blake2b(digest_size=32)
    for part in parts:
        digest.update(part)
    return digest.hexdigest()
