"""The soak benchmark (``benchmarks/soak.py``) in a few seconds: two children of ``osclc infer``, one SIGKILLed and one
sent SIGHUP while the simulated OBIS laser emits; the JSON's invariants must hold (no silently wrong frame, the laser
off after each kill, every run readable, each child's exit code and run status those of what ended it, no process
left behind)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

if os.name != "posix":  # pragma: no cover
    pytest.skip("the soak needs POSIX signals and a pseudo-terminal", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_with_a_sigkill_and_a_sighup_keeps_every_invariant(tmp_path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--minutes", "0", "--endings", "SIGKILL,SIGHUP",
                           "--out-dir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((tmp_path / "soak.json").read_text())
    assert (tmp_path / "soak.png").stat().st_size > 0
    children = result["children"]
    assert [c["ending"] for c in children] == ["SIGKILL", "SIGHUP"]
    assert all(c["event_s"] is not None for c in children)  # each signal was sent while the laser emitted
    killed, hung_up = children
    assert killed["exit_code"] == -9 and killed["run_status"] == "interrupted"
    assert hung_up["exit_code"] == 130 and hung_up["run_status"] == "aborted"
    assert "interrupted (signal SIGHUP)" in hung_up["last_stderr"] and "the bench was left safe" in hung_up["last_stderr"]
    assert result["silently_wrong"]["total"] == 0
    assert len(result["laser_off_after_sigkill_s"]["values"]) == 1  # emission seen off after the kill (bounded wait)
    assert result["laser_off_at_end"] and result["processes_left"] == []
    assert result["runs"] == {"total": 2, "readable": 2, "cycles_without_a_run": 0}
    assert result["children_as_expected"] == 2 and result["goals_met"]
    assert result["frames"]["recorded"] == sum(c["rows"] for c in children) > 0
