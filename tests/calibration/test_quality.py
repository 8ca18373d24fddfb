"""Quality gates: verdicts at and around the bound, NaN, forcing, the table and the JSON round trip."""

from __future__ import annotations

import math

import pytest

from osclc.calibration.quality import Figure, QualityError, judge, summary_table


def _residual(value: float) -> Figure:
    return Figure("fourier", "fit residual", value, 0.1, "max", "px", "knife edges off the spectrum", "check optics.f1_m")


def _snr(value: float) -> Figure:
    return Figure("dark", "signal-to-noise", value, 20.0, "min", "", "no light on the camera", "switch the laser on", ideal=100.0)


@pytest.mark.parametrize(("value", "verdict"), [(0.0, "pass"), (0.07, "pass"), (0.08, "marginal"), (0.1, "marginal"), (0.1001, "fail"), (math.nan, "fail"), (math.inf, "fail")])
def test_max_figure_verdicts(value, verdict):
    assert _residual(value).verdict == verdict


@pytest.mark.parametrize(("value", "verdict"), [(100.0, "pass"), (45.0, "pass"), (39.0, "marginal"), (20.0, "marginal"), (19.9, "fail"), (-math.inf, "fail")])
def test_min_figure_verdicts(value, verdict):
    # marginal band: the last quarter of the way from ideal 100 down to the bound 20, i.e. below 40
    assert _snr(value).verdict == verdict


def test_judge_raises_naming_step_figure_bound_cause_and_fix_unless_forced():
    figures = [_residual(0.01), _snr(3.0)]
    with pytest.raises(QualityError) as caught:
        judge(figures)
    message = str(caught.value)
    assert "'dark'" in message and "signal-to-noise = 3" in message and ">= 20" in message
    assert "no light on the camera" in message and "switch the laser on" in message and "--force" in message
    assert caught.value.failed == [figures[1]]
    assert isinstance(caught.value, RuntimeError)
    assert judge(figures, force=True) == figures


def test_json_round_trip_recomputes_the_verdict():
    for figure in (_residual(0.05), _residual(math.nan), _snr(25.0)):
        data = figure.to_json()
        back = Figure.from_json({**data, "verdict": "pass"})
        assert back.verdict == figure.verdict
        assert (math.isnan(back.value) and math.isnan(figure.value)) or back == figure


def test_summary_table_lists_every_figure():
    table = summary_table([_residual(0.05), _snr(3.0)]).splitlines()
    assert table[0].split() == ["step", "figure", "value", "bound", "verdict"]
    assert table[1].startswith("fourier") and table[1].endswith("pass")
    assert table[2].startswith("dark") and table[2].endswith("fail")
