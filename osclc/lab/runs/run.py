"""A run being written: ``runs/<run-id>/`` with its manifest, records, metrics, arrays and plots."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import FrameType, TracebackType

import numpy as np

from osclc.drivers.safety.safe_state import SafeStateReport, listening
from osclc.lab.runs.errors import RunAborted, RunDegraded
from osclc.lab.runs.manifest import (
    STATUSES,
    JsonDict,
    input_identity,
    new_manifest,
    new_run_id,
    runs_root,
    utc_now,
)
from osclc.lab.runs.records import RecordStore
from osclc.storage import json_default, save_json, save_npy, save_text
from osclc.storage.interrupts import Handler, deferred_signals

MANIFEST = "manifest.json"
METRICS = "metrics.json"


_created: list[Path] = []


def runs_created() -> list[Path]:
    """Folders of the runs this process created, oldest first (the CLI saves a failed command's traceback in the newest)."""
    return list(_created)


def save_traceback(folder: Path, text: str) -> Path:
    """Write ``text`` to ``<folder>/traceback.txt`` and name it in the manifest (``traceback``); returns its path."""
    path = save_text(folder / "traceback.txt", text)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    save_json(folder / MANIFEST, {**manifest, "traceback": path.name})
    return path


class Run:
    """One run being written. Use as a context manager: the status follows how the block exits.

    Example::

        with Run.create("train", config=cfg.model_dump(), device="cpu") as run:
            run.append("epochs", [{"epoch": 0, "loss": 1.2}])
            run.set_metrics(accuracy=0.97)
            save_figure(fig, run.path("loss.png"))
    """

    def __init__(self, folder: Path, manifest: JsonDict) -> None:
        self.folder = folder
        self.manifest = manifest
        self._lock = threading.Lock()
        self._records = RecordStore(folder)
        self._metrics: JsonDict = {}
        self._old_handlers: dict[int, Handler] = {}
        self._degraded: list[str] = []
        self._listening = contextlib.ExitStack()

    @classmethod
    def create(
        cls,
        command: str,
        *,
        argv: list[str] | None = None,
        config: object = None,
        inputs: Mapping[str, str | Path] | None = None,
        device: str | None = None,
        root: str | Path | None = None,
    ) -> Run:
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
        manifest = new_manifest(run_id, command, argv, config, inputs, device)
        save_json(folder / MANIFEST, manifest)
        _created.append(folder)
        return cls(folder, manifest)

    @property
    def run_id(self) -> str:
        """The run's id (its folder name)."""
        return str(self.manifest["run_id"])

    def path(self, name: str) -> Path:
        """Path of a file in the run folder (plots, reports, arrays)."""
        return self.folder / name

    def append(self, stream: str, rows: Iterable[Mapping[str, object]]) -> int:
        """Append rows to ``stream`` in one committed transaction (all or none); returns the number written."""
        return self.commit_buffer(stream, list(rows))

    def commit_buffer(self, stream: str, buffer: list[Mapping[str, object]]) -> int:
        """Commit the rows of ``buffer`` to ``stream`` and empty it, as one step; returns the number written.

        SIGINT / SIGTERM are held meanwhile, so a Ctrl-C at any point leaves the rows either committed and
        gone from the buffer or not committed and still in it: a final flush of the buffer writes each row once.
        """
        encoded = [json.dumps(dict(row), default=json_default) for row in buffer]
        with self._lock, deferred_signals():
            self._records.append(stream, encoded)
            del buffer[:len(encoded)]
        return len(encoded)

    def set_metrics(self, **values: object) -> None:
        """Merge ``values`` into the run's metrics and rewrite ``metrics.json`` atomically."""
        with self._lock:
            self._metrics.update(values)
            save_json(self.folder / METRICS, self._metrics)

    def save_array(self, name: str, array: np.ndarray) -> Path:
        """Save an array as ``<name>.npy`` atomically; returns its path."""
        return save_npy(self.folder / f"{name}.npy", array)

    def update_manifest(self, **fields: object) -> None:
        """Add or replace manifest fields (e.g. inputs learned during the run)."""
        with self._lock:
            self.manifest.update(fields)
            save_json(self.folder / MANIFEST, self.manifest)

    def add_input(self, role: str, path: str | Path) -> None:
        """Record the hash of an input file or folder used by the run under ``role``."""
        inputs = dict(self.manifest.get("inputs") or {})
        inputs[role] = input_identity(path)
        self.update_manifest(inputs=inputs)

    def record_safe_state(self, report: SafeStateReport) -> None:
        """Record how a bench was left, device by device (``safe_state``; a failure stays recorded over later benches)."""
        recorded = dict(self.manifest.get("safe_state") or {})
        for kind, state in report.as_dict().items():
            if not (isinstance(state, dict) and recorded.get(kind, {}).get("status") == "failed"):
                recorded[kind] = state
        self.update_manifest(safe_state=recorded)

    def degrade(self, reason: str) -> None:
        """End the run ``degraded`` (not ``completed``) with ``reason``; its ``with`` block then raises :class:`RunDegraded`."""
        self._degraded.append(reason)

    def finish(self, status: str, error: str | None = None) -> None:
        """Close the records and write the final status (``completed``, ``degraded``, ``failed`` or ``aborted``).

        A Ctrl-C or SIGTERM arriving meanwhile is delivered once the status is written.
        """
        if status not in STATUSES[1:]:
            raise ValueError(f"status must be one of {STATUSES[1:]}, got {status!r}")
        with deferred_signals():
            with self._lock:
                self._records.close()
            self.update_manifest(status=status, error=error, ended_utc=utc_now())

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        raise RunAborted(f"signal {signal.Signals(signum).name}")

    def __enter__(self) -> Run:
        if threading.current_thread() is threading.main_thread():
            self._old_handlers[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._on_sigterm)
        self._listening.enter_context(listening(self.record_safe_state))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._listening.close()
        for signum, handler in self._old_handlers.items():
            if handler is not None:
                signal.signal(signum, handler)
        if exc is None and self._degraded:
            self.finish("degraded", error="; ".join(self._degraded))
            raise RunDegraded(f"run {self.folder} ended degraded: {'; '.join(self._degraded)}")
        if exc is None:
            self.finish("completed")
        elif isinstance(exc, KeyboardInterrupt):
            self.finish("aborted", error=f"{type(exc).__name__}: {exc}".rstrip(": "))
        else:
            self.finish("failed", error=f"{type(exc).__name__}: {exc}")

