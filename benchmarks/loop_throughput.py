"""Pipelined loop throughput and latency for 2-5 stages of unequal cost, and the optical loop on the simulated bench.

Part 1, synthetic stages: each stage waits a set time. For each stage count the same frames run
through ``osclc.lab.loop.pipeline.Pipeline`` with pacing ``bottleneck`` (the loop default) and ``free``;
the figures are

- throughput / rate of the slowest stage (rate = 1 / that stage's measured median service time,
  and 1 / its set delay), goal >= 0.9;
- median end-to-end latency / sum of the stages' measured medians, goal ~ 1 with bottleneck pacing
  (free running adds the time frames wait in the bounded queues before the slowest stage).

Part 2, the real loop (the compile job, then the infer job: ``osclc.lab.jobs``) on the simulated bench with real waiting
(input settle, exposure, sensor readout, link transfer set in the bench config) for a 1-channel
student (one static mask) and a 4-channel student (time multiplexed, 4 masks per frame): measured median latency against the budget predicted
from the bench config (goal: within 10 %), and measured throughput against the predicted rate of
the slowest stage.

Usage: ``python benchmarks/loop_throughput.py [--quick]``; writes ``benchmarks/results/loop_throughput.json``
and ``.png``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_result  # noqa: E402

from osclc.storage import save_figure  # noqa: E402

from osclc.calibration.record import CalibrationRecord  # noqa: E402
from osclc.drivers.bench_config import BenchConfig  # noqa: E402
from osclc.lab.jobs.compile import CompileOptions, compile_student  # noqa: E402
from osclc.lab.jobs.context import JobContext  # noqa: E402
from osclc.lab.jobs.infer import InferOptions, infer  # noqa: E402
from osclc.lab.latency.stats import percentile, throughput_fps  # noqa: E402
from osclc.lab.loop.pipeline import Pipeline, PipelineItem, Stage  # noqa: E402
from osclc.models.networks.architecture import ClassificationArch, build_model  # noqa: E402
from osclc.models.training.checkpoints import save_checkpoint  # noqa: E402

SIM_TIMING = {
    "input": {"settle_s": 0.030},
    "slm": {"settle_s": 0.010},
    "camera": {"readout_s": 0.008, "link_MBps": 40.0},
}
"""Stage delays of the simulated bench in part 2 (seconds; 256 x 256 x 2 bytes at 40 MB/s = 3.3 ms)."""

STAGE_DELAYS_MS = {
    2: [6.0, 3.0],
    3: [3.0, 8.0, 2.0],
    4: [2.0, 4.0, 1.0, 7.0],
    5: [4.0, 2.0, 9.0, 3.0, 5.0],
}


def _sleeper(delay_s: float):
    def fn(item: PipelineItem) -> None:
        time.sleep(delay_s)

    return fn


def measure(delays_ms: list[float], frames: int, pacing: str, queue_depth: int = 4) -> dict:
    """Run ``frames`` through stages that wait ``delays_ms``; throughput and latency figures."""
    names = [f"s{k}" for k in range(len(delays_ms))]
    stages = [Stage(name, _sleeper(d / 1e3)) for name, d in zip(names, delays_ms)]
    items: list[PipelineItem] = []
    Pipeline(stages, queue_depth=queue_depth, pacing=pacing).run(range(frames), items.append)
    steady = items[len(items) // 5 :]  # leave out the start (pacing learns the stage times)
    service = {n: percentile([(i.stamps[f"{n}.end"] - i.stamps[f"{n}.start"]) / 1e6 for i in steady], 50) for n in names}
    latency = [(i.stamps["done"] - i.stamps["admitted"]) / 1e6 for i in steady]
    fps = throughput_fps([i.stamps["done"] for i in steady])
    slowest_measured_fps = 1e3 / max(service.values())
    slowest_set_fps = 1e3 / max(delays_ms)
    p50 = percentile(latency, 50)
    return {
        "stage_delays_ms": delays_ms,
        "pacing": pacing,
        "frames": frames,
        "stage_median_ms": service,
        "throughput_fps": fps,
        "slowest_stage_fps_measured": slowest_measured_fps,
        "slowest_stage_fps_set": slowest_set_fps,
        "throughput_ratio": fps / slowest_measured_fps,
        "throughput_ratio_vs_set_delay": fps / slowest_set_fps,
        "latency_p50_ms": p50,
        "latency_p99_ms": percentile(latency, 99),
        "sum_of_stages_ms": sum(service.values()),
        "latency_over_sum": p50 / sum(service.values()),
    }


def _compile(config: BenchConfig, channels: int, folder: Path) -> Path:
    """An untrained ``channels``-channel digits student, time multiplexed, through the compile job on the
    bench's virtual-clock twin (nominal calibration); returns the program folder."""
    torch.manual_seed(0)
    arch = ClassificationArch(variant="sclc", detector="intensity", channels=[channels])
    checkpoint = save_checkpoint(folder / "student", build_model(arch, 1, 8, 10).eval(),
                                 {"arch": arch, "in_channels": 1, "image_size": 8, "num_classes": 10, "dataset": "digits"})
    calibration = CalibrationRecord.identity(config).save(folder / "calib.json")
    virtual = config.model_copy(update={"simulation": config.simulation.model_copy(update={"clock": "virtual"})})
    options = CompileOptions(checkpoint=checkpoint, calibration=calibration, bench=virtual, out=folder / "program",
                             multiplex="time", normalise_images=8, check_images=4)
    return compile_student(options, JobContext(runs_dir=folder / "runs")).program_dir


def measure_sim_bench(channels: int, frames: int) -> dict:
    """The optical loop on the simulated bench with real waiting, for a ``channels``-channel student: budget vs measured."""
    config = BenchConfig.model_validate({**SIM_TIMING, "simulation": {"clock": "real"}})
    with tempfile.TemporaryDirectory() as tmp:
        program = _compile(config, channels, Path(tmp))
        result = infer(InferOptions(bench=config, program=program, dataset="digits", limit=frames, baseline_repeat=3),
                       JobContext(runs_dir=Path(tmp) / "runs", progress=False))
    lat = result.metrics["latency"]
    budget = result.budget
    p50 = lat["end_to_end"]["p50_ms"]
    return {
        "channels": channels,
        "masks": budget.masks,
        "frames": frames,
        "bench_timing": SIM_TIMING,
        "predicted_latency_ms": budget.latency_s * 1e3,
        "measured_latency_p50_ms": p50,
        "measured_latency_p99_ms": lat["end_to_end"]["p99_ms"],
        "budget_error": budget.latency_s * 1e3 / p50 - 1.0,
        "predicted_stages_ms": {k: v * 1e3 for k, v in budget.segments_s.items()},
        "measured_stages_p50_ms": {k: v["p50_ms"] for k, v in lat["segments"].items()},
        "throughput_fps": lat["throughput_fps"],
        "predicted_throughput_fps": budget.throughput_fps,
        "throughput_ratio_vs_slowest_stage": lat["throughput_fps"] / budget.throughput_fps,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames per case")
    args = parser.parse_args(argv)
    frames = 60 if args.quick else 200
    cases = [measure(delays, frames, pacing) for delays in STAGE_DELAYS_MS.values() for pacing in ("bottleneck", "free")]
    for c in cases:
        print(
            f"{len(c['stage_delays_ms'])} stages {c['pacing']:<10} throughput {c['throughput_fps']:7.1f} fps "
            f"= {c['throughput_ratio']:.3f} x slowest ({c['throughput_ratio_vs_set_delay']:.3f} x set delay); "
            f"p50 latency {c['latency_p50_ms']:6.2f} ms = {c['latency_over_sum']:.3f} x sum of stages"
        )
    sim = [measure_sim_bench(c, 40 if args.quick else 120) for c in (1, 4)]
    for c in sim:
        print(
            f"simulated bench, {c['channels']}-channel student ({c['masks']} mask(s) per frame): p50 latency {c['measured_latency_p50_ms']:.2f} ms, "
            f"predicted {c['predicted_latency_ms']:.2f} ms ({100 * c['budget_error']:+.1f} %); throughput {c['throughput_fps']:.1f} fps "
            f"= {c['throughput_ratio_vs_slowest_stage']:.3f} x predicted slowest stage"
        )
    paced = [c for c in cases if c["pacing"] == "bottleneck"]
    summary = {
        "min_throughput_ratio_bottleneck": min(c["throughput_ratio"] for c in paced),
        "max_latency_over_sum_bottleneck": max(c["latency_over_sum"] for c in paced),
        "min_throughput_ratio_free": min(c["throughput_ratio"] for c in cases if c["pacing"] == "free"),
        "max_abs_budget_error_sim_bench": max(abs(c["budget_error"]) for c in sim),
        "min_throughput_ratio_sim_bench": min(c["throughput_ratio_vs_slowest_stage"] for c in sim),
        "goal": "throughput_ratio >= 0.9 and latency_over_sum ~ 1 (bottleneck pacing); |budget_error| <= 0.1 on the simulated bench",
    }
    path = write_result("loop_throughput", {"quick": args.quick, "cases": cases, "sim_bench": sim, "summary": summary})
    _plot(cases, sim, RESULTS / "loop_throughput.png")
    print(f"summary {summary}\nwrote {path}")
    return 0


def _plot(cases: list[dict], sim: list[dict], target: Path) -> None:
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4))
    for pacing, marker in (("bottleneck", "o"), ("free", "s")):
        sel = [c for c in cases if c["pacing"] == pacing]
        n = [len(c["stage_delays_ms"]) for c in sel]
        ax1.plot(n, [c["throughput_ratio"] for c in sel], marker=marker, label=f"pacing {pacing}")
        ax2.plot(n, [c["latency_over_sum"] for c in sel], marker=marker, label=f"pacing {pacing}")
    ax1.axhline(0.9, color="grey", ls="--", label="goal 0.9")
    ax1.set(xlabel="stages", ylabel="throughput / slowest stage rate", title="throughput")
    ax2.axhline(1.0, color="grey", ls="--", label="sum of stages")
    ax2.set(xlabel="stages", ylabel="median latency / sum of stage times", title="latency")
    for ax in (ax1, ax2):
        ax.set_xticks(sorted({len(c["stage_delays_ms"]) for c in cases}))
        ax.legend()
    labels = [f"{c['channels']} ch, {c['masks']} mask(s)" for c in sim]
    x = range(len(sim))
    ax3.bar([i - 0.2 for i in x], [c["predicted_latency_ms"] for c in sim], width=0.4, label="predicted from config")
    ax3.bar([i + 0.2 for i in x], [c["measured_latency_p50_ms"] for c in sim], width=0.4, label="measured median")
    for i, c in zip(x, sim):
        ax3.text(i + 0.2, c["measured_latency_p50_ms"], f"{100 * c['budget_error']:+.1f} %", ha="center", va="bottom", fontsize=8)
    ax3.set_xticks(list(x), labels)
    ax3.set(ylabel="end-to-end latency (ms)", title="simulated bench: budget vs measured")
    ax3.legend()
    fig.tight_layout()
    save_figure(fig, target, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
