"""The forward-time benchmark's bookkeeping (benchmarks/forward_time.py, benchmarks/common.py):
interleaved turns, the load rule and its refusal, the folded path's FLOP count against
torch's own flop counter. Equalities only, no timing asserts."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from osclc.models.folding import fold
from osclc.models.networks.plan import LayerPlan, NetworkPlan
from osclc.models.networks.sclc import SCLC

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


forward_time = _load("forward_time")
common = _load("common")


def test_calls_are_timed_in_turns() -> None:
    order: list[str] = []
    calls = {name: (lambda name=name: order.append(name)) for name in "abc"}
    stats = common.time_interleaved(calls, repeat=3, warmup=1)
    assert order == list("abc") * 4
    assert set(stats) == set("abc") and all(s["repeat"] == 3 for s in stats.values())
    assert common.time_call(lambda: order.append("x"), repeat=2, warmup=1)["repeat"] == 2 and order[-3:] == ["x"] * 3


@pytest.mark.parametrize("load,threads,heavy", [(1.4, 1, False), (2.1, 1, True), (2.9, 2, False), (0.0, 4, False)])
def test_load_rule(load: float, threads: int, heavy: bool) -> None:
    """Heavy: the 1-min load average beyond the benchmark's own threads exceeds half the CPUs."""
    snapshots = [{"load_1min": 0.2, "cpu_count": 2}, {"load_1min": load, "cpu_count": 2}]
    for allowed in (False, True):
        verdict = common.load_verdict(snapshots, threads, allowed)
        assert verdict["heavy"] is heavy and verdict["limit"] == 1.0
        assert verdict["recorded_under_heavy_load"] is (heavy and allowed)
    with pytest.raises(ValueError, match="snapshot"):
        common.load_verdict([], 1, False)


@pytest.mark.parametrize("load,allow,written", [(9.0, False, False), (9.0, True, True), (0.0, False, True)])
def test_heavy_load_refuses_unless_allowed(load: float, allow: bool, written: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    argv = ["--sizes", "8", "--device", "cpu", "--seconds", "0.001", "--out-dir", str(tmp_path)] + (["--allow-load"] if allow else [])
    status = forward_time.main(argv)
    path = tmp_path / "forward_time.json"
    assert (status, path.exists()) == ((0, True) if written else (forward_time.REFUSED, False))
    if written:
        result = json.loads(path.read_text())
        assert result["load"]["heavy"] is (load > 0) and result["load"]["recorded_under_heavy_load"] is (load > 0)
        timed = [p for p in result["points"] if "median_s" in p]
        assert {(p["model"], p["batch"]) for p in timed} == {(m, b) for m in forward_time.MODELS for b in forward_time.BATCHES}
        assert all(p["load"]["load_1min_before"] == load and p["min_s"] <= p["median_s"] for p in timed)
        assert all("floor" in p for p in timed if p["model"] == "folded")


@pytest.mark.parametrize("size,batch", [(12, 2), (15, 1)])
def test_folded_matmul_flops_equal_torch_flop_counter(size: int, batch: int) -> None:
    """The matrix-product stages of the closed-form count (partial DFTs, the backend's linear layer)
    equal what torch's flop counter sees in one folded forward; the matmul probe's count likewise."""
    torch.manual_seed(size)
    plan = NetworkPlan((LayerPlan(4, 3, 1, 2), LayerPlan(5, 3)))
    folded = fold(SCLC.from_plan(plan, 3, size, 7).eval())  # 3 input channels: the mix is a broadcast sum, not a matmul
    x = torch.rand(batch, 3, size, size)
    flops = forward_time.folded_flops(folded, batch)
    features = folded.backend.channels * folded.backend.height * folded.backend.width
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        folded(x)
    assert counter.get_total_flops() == flops["partial_dft_rows"] + flops["partial_dft_cols"] + batch * 2 * features * 7
    probe, probe_flops = forward_time.matmul_probe(folded, x)
    with FlopCounterMode(display=False) as counter:
        probe()
    assert counter.get_total_flops() == probe_flops == flops["partial_dft_rows"]
