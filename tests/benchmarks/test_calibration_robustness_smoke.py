"""The calibration robustness benchmark's bookkeeping (benchmarks/calibration_robustness.py): outcomes per step and
overall, right cause of a refusal, goals; and a 2-bench run end to end of the script (small base bench, no
end-to-end inference). Counts and equalities only, no timing asserts."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from osclc.configs import bundled

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "calibration_robustness.py"
_spec = importlib.util.spec_from_file_location("calibration_robustness_benchmark", SCRIPT)
robustness = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = robustness  # its dataclasses look their module up
_spec.loader.exec_module(robustness)  # type: ignore[union-attr]


def _steps(out_of_bounds: set[str]) -> dict[str, dict[str, object]]:
    return {s: {"error": 2.0 if s in out_of_bounds else 0.0, "bound": 1.0, "judged": True, "within": s not in out_of_bounds}
            for s in robustness.JUDGED}


def test_out_of_bounds_and_not_refused_is_silently_wrong() -> None:
    per_step, overall, right = robustness.classify(robustness.Attempt(), _steps({"fourier"}))
    assert overall == "silently_wrong" and right is None
    assert per_step["fourier"] == "silently_wrong" and per_step["lut"] == "within"


def test_refusal_at_the_faulty_step_is_the_right_cause() -> None:
    per_step, overall, right = robustness.classify(robustness.Attempt(refused_steps=["fourier"]), _steps({"fourier", "camera"}))
    assert overall == "refused" and right is True
    assert per_step["fourier"] == "refused" and per_step["camera"] == "caught_elsewhere"


def test_refusal_of_a_good_bench_is_a_false_alarm() -> None:
    _, overall, right = robustness.classify(robustness.Attempt(refused_steps=["fringing"]), _steps(set()))
    assert overall == "refused" and right is False


def test_refusal_after_the_faulty_step_is_not_the_right_cause() -> None:
    _, _, right = robustness.classify(robustness.Attempt(refused_steps=["fourier"]), _steps({"lut"}))
    assert right is False


def test_a_stopped_run_is_refused_only_when_it_names_the_step() -> None:
    named = robustness.Attempt(error="fourier: the knife edge never balanced", named_step="fourier", refused_steps=["fourier"])
    per_step, overall, right = robustness.classify(named, None)
    assert (overall, per_step["fourier"], per_step["lut"], right) == ("refused", "refused", "not_measured", None)
    unnamed = robustness.Attempt(error="SVD did not converge", running_step="camera")
    per_step, overall, _ = robustness.classify(unnamed, None)
    assert (overall, per_step["camera"], per_step["fourier"]) == ("crashed", "crashed", "not_measured")


def test_step_named_reads_messages_and_progress_labels() -> None:
    assert robustness.step_named("the knife edge never balanced") is None  # a cause, but no step
    assert robustness.step_named("Fourier geometry") == "fourier"
    assert robustness.step_named("far-field map") == "far_field"
    assert robustness.step_named("SVD did not converge") is None


def test_goals_say_by_how_much_they_are_missed() -> None:
    benches = [{"outcomes": {s: "within" for s in robustness.JUDGED}, "overall": "within", "right_cause": None,
                "steps": _steps(set())} for _ in range(3)]
    benches.append({"outcomes": {**{s: "within" for s in robustness.JUDGED}, "lut": "silently_wrong"},
                    "overall": "silently_wrong", "right_cause": None, "steps": _steps({"lut"})})
    summary = robustness.summarise(benches)
    assert summary["overall"]["within"] == 0.75 and summary["per_step"]["lut"]["silently_wrong"] == 0.25
    goals = robustness.goals(summary, [{"optical_minus_digital_points": 0.5}, {"optical_minus_digital_points": -3.0}])
    assert goals["silently_wrong_fraction"] == {"value": 0.25, "target": 0.0, "sense": "<=", "met": False, "missed_by": 0.25}
    assert goals["within_bounds_fraction"]["missed_by"] == pytest.approx(0.20)
    assert goals["e2e_within_1_point_fraction"]["value"] == 0.5 and goals["e2e_within_1_point_fraction"]["met"] is False


def test_two_benches_end_to_end_of_the_script(tmp_path: Path) -> None:
    figures = robustness.main(["--benches", "2", "--e2e-benches", "0", "--base", str(bundled("bench-sim-ideal.yaml")),
                               "--out", str(tmp_path)])
    written = json.loads((tmp_path / "calibration_robustness.json").read_text())
    assert (tmp_path / "calibration_robustness.png").stat().st_size > 0
    assert written["summary"] == json.loads(json.dumps(figures["summary"]))
    assert [b["mismatch"] for b in written["benches"]] == [False, True]
    for step in robustness.JUDGED:
        fractions = written["summary"]["per_step"][step]
        assert sum(fractions[o] for o in robustness.OUTCOMES) == pytest.approx(1.0)
    for bench in written["benches"]:
        assert bench["overall"] in robustness.OUTCOMES
        if bench["steps"] is not None:  # every judged step is within its bound, refused or counted as wrong
            for step, outcome in bench["outcomes"].items():
                within = bench["steps"][step]["within"]
                assert outcome == "refused" or (outcome == "within") == within
    assert set(written["goals"]) == set(robustness.GOALS) and "machine" in written
