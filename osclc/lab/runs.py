"""Crash-safe run records: ``runs/<run-id>/`` with a manifest, records, metrics, arrays and plots.

Layout of one run folder:

- ``manifest.json``: command line, resolved config, git commit and dirty flag, package versions,
  host, Python, torch device, UTC start/end, pid, status (running / completed / failed / aborted)
  and the SHA-256 of every input file (model, calibration). Rewritten atomically (temp + rename).
- ``records.sqlite``: SQLite in WAL mode; table ``records(stream, idx, data)`` holds per-frame and
  per-epoch rows as JSON, committed per batch, so a process killed with SIGKILL leaves every row up
  to the last committed batch readable. ``metrics.json`` mirrors the latest metrics.
- ``*.npy`` arrays and ``*.png`` plots beside them.

A run whose manifest still says ``running`` but whose process is gone is shown as ``interrupted``.
SIGINT and SIGTERM inside a run end it with status ``aborted``.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import platform
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from osclc.drivers.safety.safe_state import SafeStateReport, listening

RUNS_ENV = "OSCLC_RUNS_DIR"
STATUSES = ("running", "completed", "failed", "aborted")
PACKAGES = (
    "osclc", "numpy", "scipy", "torch", "opencv-python", "pyvisa", "pyvisa-sim", "pyserial", "slmsuite",
    "pydantic", "PyYAML", "tqdm", "matplotlib", "safetensors", "scikit-learn",
)


_created: list[Path] = []


def runs_created() -> list[Path]:
    """Folders of the runs this process created, oldest first (the CLI saves a failed command's traceback in the newest)."""
    return list(_created)


def save_traceback(folder: Path, text: str) -> Path:
    """Write ``text`` to ``<folder>/traceback.txt`` and name it in the manifest (``traceback``); returns its path."""
    path = folder / "traceback.txt"
    tmp = folder / f".traceback.{os.getpid()}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    _write_json_atomic(folder / "manifest.json", {**manifest, "traceback": path.name})
    return path


class RunAborted(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM arrives during a run (SIGINT raises KeyboardInterrupt)."""


class RunRecordError(ValueError):
    """A run folder whose manifest or records cannot be read; the message names the file."""


def runs_root(override: str | Path | None = None) -> Path:
    """The runs folder: ``override`` (``--runs-dir``), else ``$OSCLC_RUNS_DIR``, else ``./runs``."""
    if override:
        return Path(override)
    env = os.environ.get(RUNS_ENV)
    return Path(env) if env else Path("runs")


def utc_now() -> str:
    """Current UTC time, ISO 8601 with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (for a folder: of its files' names and bytes, sorted)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _git_state() -> dict[str, Any]:
    """Commit and dirty flag of the checkout the package runs from (or of the working folder)."""
    for where in (Path(__file__).resolve().parents[2], Path.cwd()):
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


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, default=_json_default)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot store {type(value).__name__} in a run record")


def new_run_id(command: str) -> str:
    """A run id sortable by time and unique across processes: ``YYYYmmdd-HHMMSS-ffffff-<cmd>-<hex>``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    safe = "".join(c if c.isalnum() else "-" for c in command).strip("-") or "run"
    return f"{stamp}-{safe}-{secrets.token_hex(3)}"


class Run:
    """One run being written. Use as a context manager: the status follows how the block exits.

    Example::

        with Run.create("train", config=cfg.model_dump(), device="cpu") as run:
            run.append("epochs", [{"epoch": 0, "loss": 1.2}])
            run.set_metrics(accuracy=0.97)
            fig.savefig(run.path("loss.png"))
    """

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        self.manifest = manifest
        self._lock = threading.Lock()
        self._db = sqlite3.connect(folder / "records.sqlite", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS records (stream TEXT NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS records_stream ON records (stream, idx)")
        self._metrics: dict[str, Any] = {}
        self._counters: dict[str, int] = {}
        self._old_handlers: dict[int, Any] = {}

    # ------------------------------------------------------------------ creation

    @classmethod
    def create(
        cls,
        command: str,
        *,
        argv: list[str] | None = None,
        config: Any = None,
        inputs: Mapping[str, str | Path] | None = None,
        device: str | None = None,
        root: str | Path | None = None,
    ) -> "Run":
        """Create ``<root>/<run-id>/`` and its manifest with status ``running``.

        ``inputs`` maps a role (``model``, ``calibration``, ...) to a file or folder whose hash is recorded.
        """
        base = runs_root(root)
        base.mkdir(parents=True, exist_ok=True)
        for _ in range(20):
            run_id = new_run_id(command)
            folder = base / run_id
            try:
                folder.mkdir()
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 20 collisions of a 24-bit random suffix in one microsecond
            raise RuntimeError(f"could not create a unique run folder under {base}")
        manifest = {
            "run_id": run_id,
            "command": command,
            "argv": list(sys.argv if argv is None else argv),
            "config": config.model_dump(mode="json") if hasattr(config, "model_dump") else config,
            "inputs": {
                role: {"path": str(Path(p).resolve()), "sha256": sha256_file(p)} for role, p in (inputs or {}).items()
            },
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
        _write_json_atomic(folder / "manifest.json", manifest)
        _created.append(folder)
        return cls(folder, manifest)

    @property
    def run_id(self) -> str:
        """The run's id (its folder name)."""
        return self.manifest["run_id"]

    # ------------------------------------------------------------------ writing

    def path(self, name: str) -> Path:
        """Path of a file in the run folder (plots, reports, arrays)."""
        return self.folder / name

    def append(self, stream: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Append rows to ``stream`` in one committed transaction; returns the number written."""
        encoded = [json.dumps(dict(row), default=_json_default) for row in rows]
        with self._lock:
            start = self._counters.get(stream)
            if start is None:
                (last,) = self._db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM records WHERE stream = ?", (stream,)).fetchone()
                start = int(last)
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO records (stream, idx, data) VALUES (?, ?, ?)",
                [(stream, start + i, text) for i, text in enumerate(encoded)],
            )
            self._db.execute("COMMIT")
            self._counters[stream] = start + len(encoded)
        return len(encoded)

    def set_metrics(self, **values: Any) -> None:
        """Merge ``values`` into the run's metrics and rewrite ``metrics.json`` atomically."""
        with self._lock:
            self._metrics.update(values)
            _write_json_atomic(self.folder / "metrics.json", self._metrics)

    def save_array(self, name: str, array: np.ndarray) -> Path:
        """Save an array as ``<name>.npy`` atomically; returns its path."""
        target = self.folder / f"{name}.npy"
        tmp = self.folder / f".{name}.{os.getpid()}.npy.tmp"
        with open(tmp, "wb") as handle:
            np.save(handle, np.asarray(array))
        os.replace(tmp, target)
        return target

    def update_manifest(self, **fields: Any) -> None:
        """Add or replace manifest fields (e.g. inputs learned during the run)."""
        with self._lock:
            self.manifest.update(fields)
            _write_json_atomic(self.folder / "manifest.json", self.manifest)

    def add_input(self, role: str, path: str | Path) -> None:
        """Record the hash of an input file or folder used by the run under ``role``."""
        inputs = dict(self.manifest.get("inputs") or {})
        inputs[role] = {"path": str(Path(path).resolve()), "sha256": sha256_file(path)}
        self.update_manifest(inputs=inputs)

    def record_safe_state(self, report: SafeStateReport) -> None:
        """Record how a bench was left, device by device (``safe_state``; a failure stays recorded over later benches)."""
        recorded = dict(self.manifest.get("safe_state") or {})
        for kind, state in report.as_dict().items():
            if not (isinstance(state, dict) and recorded.get(kind, {}).get("status") == "failed"):
                recorded[kind] = state
        self.update_manifest(safe_state=recorded)

    def finish(self, status: str, error: str | None = None) -> None:
        """Close the store and write the final status (``completed``, ``failed`` or ``aborted``)."""
        if status not in STATUSES[1:]:
            raise ValueError(f"status must be one of {STATUSES[1:]}, got {status!r}")
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.close()
        self.update_manifest(status=status, error=error, ended_utc=utc_now())

    # ------------------------------------------------------------------ context manager

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        raise RunAborted(f"signal {signal.Signals(signum).name}")

    def __enter__(self) -> "Run":
        if threading.current_thread() is threading.main_thread():
            self._old_handlers[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._on_sigterm)
        self._listening = contextlib.ExitStack()
        self._listening.enter_context(listening(self.record_safe_state))
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._listening.close()
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        if exc is None:
            self.finish("completed")
        elif isinstance(exc, KeyboardInterrupt):
            self.finish("aborted", error=f"{type(exc).__name__}: {exc}".rstrip(": "))
        else:
            self.finish("failed", error=f"{type(exc).__name__}: {exc}")


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


# ---------------------------------------------------------------------- reading


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); treat it as gone
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


@dataclass(frozen=True)
class RunInfo:
    """A run folder as read back: its manifest and the status to show."""

    folder: Path
    manifest: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.folder.name

    @property
    def status(self) -> str:
        """The manifest's status, or ``interrupted`` for a ``running`` run whose process is gone."""
        status = self.manifest.get("status", "unknown")
        if status == "running" and self.manifest.get("host") == socket.gethostname():
            pid = self.manifest.get("pid")
            if isinstance(pid, int) and not _pid_alive(pid):
                return "interrupted"
        return status

    def metrics(self) -> dict[str, Any]:
        """The run's ``metrics.json`` (empty when it has none yet)."""
        path = self.folder / "metrics.json"
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RunRecordError(f"{path}: unreadable metrics ({exc})") from exc

    def records(self, stream: str) -> list[dict[str, Any]]:
        """Every committed row of ``stream``, in order."""
        return list(iter_records(self.folder, stream))

    def streams(self) -> dict[str, int]:
        """Record streams of the run and their row counts."""
        db_path = self.folder / "records.sqlite"
        if not db_path.exists():
            return {}
        with contextlib.closing(_open_read(db_path)) as db:
            return {s: n for s, n in db.execute("SELECT stream, COUNT(*) FROM records GROUP BY stream ORDER BY stream")}


def _open_read(db_path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(db_path, timeout=10)
    except sqlite3.Error as exc:
        raise RunRecordError(f"{db_path}: cannot open records ({exc})") from exc


def iter_records(folder: str | Path, stream: str) -> Iterator[dict[str, Any]]:
    """Rows of ``stream`` in a run folder, oldest first (readable while the run writes, or after a crash)."""
    db_path = Path(folder) / "records.sqlite"
    if not db_path.exists():
        return
    with contextlib.closing(_open_read(db_path)) as db:
        try:
            for (text,) in db.execute("SELECT data FROM records WHERE stream = ? ORDER BY idx", (stream,)):
                yield json.loads(text)
        except sqlite3.DatabaseError as exc:
            raise RunRecordError(f"{db_path}: records unreadable ({exc})") from exc


def read_run(folder: str | Path) -> RunInfo:
    """Read a run folder's manifest; :class:`RunRecordError` names the file when it is missing or corrupt."""
    folder = Path(folder)
    path = folder / "manifest.json"
    if not path.exists():
        raise RunRecordError(f"{path}: no manifest; {folder.name} is not a run folder (or was created by hand)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunRecordError(f"{path}: corrupt or truncated manifest ({exc}); the records beside it may still be read") from exc
    if not isinstance(manifest, dict) or "status" not in manifest:
        raise RunRecordError(f"{path}: manifest has no 'status'; it was not written by osclc")
    return RunInfo(folder, manifest)


def find_run(run_id: str, root: str | Path | None = None) -> Path:
    """The folder of run ``run_id`` (a full id, a unique prefix, or a path)."""
    candidate = Path(run_id)
    if candidate.is_dir():
        return candidate
    base = runs_root(root)
    if (base / run_id).is_dir():
        return base / run_id
    matches = sorted(p for p in base.glob(f"{run_id}*") if p.is_dir()) if base.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunRecordError(f"no run {run_id!r} under {base}; `osclc runs list` shows the runs there")
    raise RunRecordError(f"{run_id!r} matches {len(matches)} runs under {base}; give more of the id")


def list_runs(root: str | Path | None = None) -> list[RunInfo | RunRecordError]:
    """Every run folder under the root, oldest first; unreadable ones come back as errors, not raised."""
    base = runs_root(root)
    if not base.is_dir():
        return []
    out: list[RunInfo | RunRecordError] = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            out.append(read_run(folder))
        except RunRecordError as exc:
            out.append(exc)
    return out

