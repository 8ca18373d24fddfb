"""Test-wide fixtures: every test writes its runs into its own temporary folder."""

from __future__ import annotations

import os
import tempfile

import pytest

# Module- and session-scoped fixtures open benches before any per-test folder exists: their bench locks go to
# this run's own folder, never to the machine-wide default that a user's bench (or another test run) holds.
os.environ["OSCLC_LOCK_DIR"] = tempfile.mkdtemp(prefix="osclc-test-locks-")


@pytest.fixture(autouse=True)
def _isolated_runs_dir(tmp_path, monkeypatch):
    """Point OSCLC_RUNS_DIR (and the bench locks, OSCLC_LOCK_DIR) at fresh folders so tests never touch ./runs or each other."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("OSCLC_RUNS_DIR", str(runs))
    monkeypatch.setenv("OSCLC_LOCK_DIR", str(tmp_path / "locks"))
    return runs


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch intra-op thread for a whole test module; use ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.

    Tiny models: one thread is ~30x faster than two on the shared, loaded test machine.
    """
    import torch  # here, not at the top: most test folders never need torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
