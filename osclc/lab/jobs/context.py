"""Where a job runs and how it reports: the torch device, the runs folder, progress for a person.

Every job takes its typed options (what to do) and a :class:`JobContext` (where and how); a job never
parses argv and never prints: lines for a person go through ``context.say``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch


def quiet(line: str) -> None:
    """The default ``say``: drop the line (a notebook or a benchmark passes ``print`` to see it)."""


@dataclass(frozen=True)
class JobContext:
    """Where a job runs and reports.

    - ``device``: torch device of training, backends and digital baselines;
    - ``runs_dir``: folder of run records (None: ``$OSCLC_RUNS_DIR`` or ``./runs``);
    - ``say``: called with one line of progress for a person (``print``, ``tqdm.write``, a logger);
    - ``progress``: show progress bars (tqdm) while training or capturing;
    - ``argv``: the command line recorded in the run manifests (None: ``sys.argv``).
    """

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    runs_dir: str | Path | None = None
    say: Callable[[str], None] = quiet
    progress: bool = True
    argv: tuple[str, ...] | None = None

    @property
    def argv_list(self) -> list[str] | None:
        """``argv`` as :meth:`osclc.lab.runs.Run.create` takes it."""
        return None if self.argv is None else list(self.argv)


DEFAULT_CONTEXT = JobContext()
"""The context of a job called without one: CPU, the default runs folder, silent, progress bars on (frozen, so shared safely)."""
