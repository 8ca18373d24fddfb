"""The exceptions of run records."""

from __future__ import annotations


class RunAborted(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM arrives during a run (SIGINT raises KeyboardInterrupt)."""


class RunDegraded(RuntimeError):
    """Raised when a run marked :meth:`Run.degrade` ends: it finished, but part of its results is missing."""


class RunRecordError(ValueError):
    """A run folder whose manifest or records cannot be read; the message names the file and the cause."""
