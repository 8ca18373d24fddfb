"""Test-wide fixtures: every test writes its runs into its own temporary folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_runs_dir(tmp_path, monkeypatch):
    """Point OSCLC_RUNS_DIR at a fresh folder so tests never touch ./runs or each other."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("OSCLC_RUNS_DIR", str(runs))
    return runs
