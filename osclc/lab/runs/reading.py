"""Reading run folders back: manifest, status (``interrupted`` when the writer is gone), metrics, records."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path

from osclc.lab.runs.errors import RunRecordError
from osclc.lab.runs.manifest import JsonDict, runs_root
from osclc.lab.runs.records import iter_records, stream_counts
from osclc.lab.runs.run import MANIFEST, METRICS
from osclc.storage.atomic import pid_alive


@dataclass(frozen=True)
class RunInfo:
    """A run folder as read back: its manifest and the status to show."""

    folder: Path
    manifest: JsonDict

    @property
    def run_id(self) -> str:
        """The run's id (its folder name)."""
        return self.folder.name

    @property
    def status(self) -> str:
        """The manifest's status, or ``interrupted`` for a ``running`` run whose process is gone."""
        status = str(self.manifest.get("status", "unknown"))
        if status == "running" and self.manifest.get("host") == socket.gethostname():
            pid = self.manifest.get("pid")
            if isinstance(pid, int) and not pid_alive(pid):
                return "interrupted"
        return status

    def metrics(self) -> JsonDict:
        """The run's ``metrics.json`` (empty when it has none yet)."""
        path = self.folder / METRICS
        if not path.exists():
            return {}
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise RunRecordError(f"{path}: unreadable metrics ({exc})") from exc

    def records(self, stream: str) -> list[JsonDict]:
        """Every committed row of ``stream``, in order."""
        return list(iter_records(self.folder, stream))

    def streams(self) -> dict[str, int]:
        """Record streams of the run and their row counts."""
        return stream_counts(self.folder)


def read_run(folder: str | Path) -> RunInfo:
    """Read a run folder's manifest; :class:`RunRecordError` names the file when it is missing or corrupt."""
    folder = Path(folder)
    path = folder / MANIFEST
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
