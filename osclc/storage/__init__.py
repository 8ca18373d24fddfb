"""Storage: the one home of saving files atomically and of hashing them.

A base package: it imports nothing else of the project, and every other package (``models``,
``drivers``, ``calibration``, ``lab``) may import it. Everything the project writes goes through
:mod:`osclc.storage.atomic` (a kill leaves the old or the new version, never a partial one); every file
hash through :mod:`osclc.storage.hashing`.
"""

from osclc.storage.atomic import (
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
from osclc.storage.formats import (
    encode_json,
    encode_npz,
    encode_safetensors,
    json_default,
)
from osclc.storage.hashing import content_hash, sha256_bytes, sha256_file

__all__ = [
    "content_hash",
    "encode_json",
    "encode_npz",
    "encode_safetensors",
    "json_default",
    "recover",
    "save_bytes",
    "save_figure",
    "save_files",
    "save_folder",
    "save_json",
    "save_npy",
    "save_npz",
    "save_safetensors",
    "save_text",
    "sha256_bytes",
    "sha256_file",
]
