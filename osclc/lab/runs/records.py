"""``records.sqlite``: per-frame and per-epoch rows of a run, as JSON in ``records(stream, idx, data)``.

SQLite in WAL mode, one committed transaction per :meth:`RecordStore.append`, so a process killed with
SIGKILL leaves every row up to the last committed batch readable. An exception inside a transaction
rolls it back, so the store always accepts the next append (the final flush after a Ctrl-C);
:meth:`~osclc.lab.runs.run.Run.commit_buffer` holds SIGINT / SIGTERM around it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from osclc.lab.runs.errors import RunRecordError

DATABASE = "records.sqlite"
_INSERT = "INSERT INTO records (stream, idx, data) VALUES (?, ?, ?)"


class RecordStore:
    """The writer of one run's ``records.sqlite`` (one thread at a time; :class:`~osclc.lab.runs.run.Run` locks)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / DATABASE
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS records (stream TEXT NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS records_stream ON records (stream, idx)")
        self._next: dict[str, int] = {}

    def append(self, stream: str, texts: list[str]) -> None:
        """Commit ``texts`` (JSON rows) to ``stream`` in one transaction, or roll it back on any exception."""
        try:
            start = self._next.get(stream)
            if start is None:
                (last,) = self._db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM records WHERE stream = ?", (stream,)).fetchone()
                start = int(last)
            self._db.execute("BEGIN")
            self._db.executemany(_INSERT, [(stream, start + i, text) for i, text in enumerate(texts)])
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._next.pop(stream, None)  # read it back from the table next time
            raise
        self._next[stream] = start + len(texts)

    def close(self) -> None:
        """Fold the write-ahead log into the database and close it (a rolled-back or closed store is fine)."""
        with contextlib.suppress(sqlite3.Error):
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with contextlib.suppress(sqlite3.Error):
            self._db.close()


def iter_records(folder: str | Path, stream: str) -> Iterator[dict[str, object]]:
    """Rows of ``stream`` in a run folder, oldest first (readable while the run writes, or after a crash).

    :class:`~osclc.lab.runs.errors.RunRecordError` names ``records.sqlite`` and the cause when it is corrupt.
    """
    db_path = Path(folder) / DATABASE
    if not db_path.exists():
        return
    with _reading(db_path) as db:
        for (text,) in db.execute("SELECT data FROM records WHERE stream = ? ORDER BY idx", (stream,)):
            yield json.loads(text)


def stream_counts(folder: str | Path) -> dict[str, int]:
    """Record streams of a run folder and their row counts (empty when it has no records)."""
    db_path = Path(folder) / DATABASE
    if not db_path.exists():
        return {}
    with _reading(db_path) as db:
        return {s: n for s, n in db.execute("SELECT stream, COUNT(*) FROM records GROUP BY stream ORDER BY stream")}


@contextlib.contextmanager
def _reading(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A read connection; any SQLite error while it is used becomes :class:`RunRecordError` naming the file."""
    try:
        db = sqlite3.connect(db_path, timeout=10)
    except sqlite3.Error as exc:
        raise RunRecordError(f"{db_path}: cannot open the records ({exc})") from exc
    try:
        yield db
    except (sqlite3.DatabaseError, ValueError) as exc:  # ValueError: a row that is not JSON
        raise RunRecordError(f"{db_path}: records unreadable ({exc})") from exc
    finally:
        db.close()
