"""Crash-safe run records: ``runs/<run-id>/`` with a manifest, records, metrics, arrays and plots.

Layout of one run folder:

- ``manifest.json``: command line, resolved config, git commit and dirty flag, package versions,
  host, Python, torch device, UTC start/end, pid, status (running / completed / degraded / failed / aborted)
  and the SHA-256 of every input file (model, calibration). Rewritten atomically (:mod:`osclc.storage`).
- ``records.sqlite``: SQLite in WAL mode; table ``records(stream, idx, data)`` holds per-frame and
  per-epoch rows as JSON, committed per batch, so a process killed with SIGKILL leaves every row up
  to the last committed batch readable, and a Ctrl-C never leaves a transaction open.
  ``metrics.json`` mirrors the latest metrics.
- ``*.npy`` arrays and ``*.png`` plots beside them.

A run whose manifest still says ``running`` but whose process is gone is shown as ``interrupted``.
SIGINT and SIGTERM inside a run end it with status ``aborted``.

Modules: :mod:`~osclc.lab.runs.manifest` (provenance), :mod:`~osclc.lab.runs.records` (the SQLite rows),
:mod:`~osclc.lab.runs.run` (writing a run), :mod:`~osclc.lab.runs.reading` (reading runs back).
"""

from osclc.lab.runs.errors import RunAborted, RunDegraded, RunRecordError
from osclc.lab.runs.manifest import (
    PACKAGES,
    RUNS_ENV,
    STATUSES,
    new_run_id,
    runs_root,
    utc_now,
)
from osclc.lab.runs.reading import RunInfo, find_run, list_runs, read_run
from osclc.lab.runs.records import iter_records
from osclc.lab.runs.run import Run, runs_created, save_traceback
from osclc.storage import sha256_file

__all__ = [
    "PACKAGES", "RUNS_ENV", "STATUSES", "Run", "RunAborted", "RunDegraded", "RunInfo", "RunRecordError", "find_run",
    "iter_records", "list_runs", "new_run_id", "read_run", "runs_created", "save_traceback", "runs_root", "sha256_file", "utc_now",
]
