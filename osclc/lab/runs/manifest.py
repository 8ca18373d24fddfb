"""What a run's ``manifest.json`` records about where and how it ran: run id, command, config, input
hashes, git commit, package versions, host, user, platform, pid, UTC start/end, status."""

from __future__ import annotations

import getpass
import os
import platform
import secrets
import socket
import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from osclc.storage import sha256_file

RUNS_ENV = "OSCLC_RUNS_DIR"
STATUSES = ("running", "completed", "degraded", "failed", "aborted")
PACKAGES = (
    "osclc", "numpy", "scipy", "torch", "opencv-python", "pyvisa", "pyvisa-sim", "pyserial", "slmsuite",
    "pydantic", "PyYAML", "tqdm", "matplotlib", "safetensors", "scikit-learn",
)
JsonDict = dict[str, Any]
"""A JSON object as read or written (values are JSON values)."""


def runs_root(override: str | Path | None = None) -> Path:
    """The runs folder: ``override`` (``--runs-dir``), else ``$OSCLC_RUNS_DIR``, else ``./runs``."""
    if override:
        return Path(override)
    env = os.environ.get(RUNS_ENV)
    return Path(env) if env else Path("runs")


def utc_now() -> str:
    """Current UTC time, ISO 8601 with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def new_run_id(command: str) -> str:
    """A run id sortable by time and unique across processes: ``YYYYmmdd-HHMMSS-ffffff-<cmd>-<hex>``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    safe = "".join(c if c.isalnum() else "-" for c in command).strip("-") or "run"
    return f"{stamp}-{safe}-{secrets.token_hex(3)}"


def input_identity(path: str | Path) -> dict[str, str]:
    """An input file or folder as the manifest records it: absolute ``path`` and ``sha256``."""
    return {"path": str(Path(path).resolve()), "sha256": sha256_file(path)}


def new_manifest(
    run_id: str, command: str, argv: list[str] | None, config: object, inputs: Mapping[str, str | Path] | None,
    device: str | None,
) -> JsonDict:
    """The manifest of a run that starts now (status ``running``)."""
    dump = getattr(config, "model_dump", None)
    return {
        "run_id": run_id,
        "command": command,
        "argv": list(sys.argv if argv is None else argv),
        "config": dump(mode="json") if callable(dump) else config,
        "inputs": {role: input_identity(p) for role, p in (inputs or {}).items()},
        "git": _git_state(),
        "versions": _versions(),
        "host": socket.gethostname(),
        "user": _user(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "device": device,
        "pid": os.getpid(),
        "started_utc": utc_now(),
        "ended_utc": None,
        "status": "running",
        "error": None,
    }


def _git_state() -> JsonDict:
    """Commit and dirty flag of the checkout the package runs from (or of the working folder)."""
    for where in (Path(__file__).resolve().parents[3], Path.cwd()):
        try:
            commit = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5, check=True
            ).stdout.strip()
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=where, capture_output=True, text=True, timeout=5, check=True,
            ).stdout.strip()
            return {"commit": commit, "dirty": bool(dirty), "root": str(where)}
        except (OSError, subprocess.SubprocessError):
            continue
    return {"commit": None, "dirty": None, "root": None}


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
