"""Latency of an inference run: per-stage and end-to-end statistics, plots, and a Markdown report.

Reads the ``frames`` records of a run (see :mod:`osclc.lab.loop.frame_record`), summarises every
segment between consecutive timing boundaries (p50 / p95 / p99 / mean, ms), the end-to-end
latency (``admitted`` -> ``done``) and the throughput (frames/s), and puts them beside the
budget predicted from the bench config and the digital baselines timed on the same device.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from osclc.lab.latency.baselines import load_baselines, time_models  # noqa: E402
from osclc.lab.latency.device_time import device_time_report  # noqa: E402
from osclc.lab.loop.frame_record import BOUNDARIES, SEGMENT_NAMES, STREAM  # noqa: E402
from osclc.lab.latency.stats import percentile, stage_report  # noqa: E402
from osclc.lab.runs import read_run  # noqa: E402
from osclc.storage import save_figure, save_json, save_text  # noqa: E402


class NoFramesError(ValueError):
    """A run with no completed frame to measure; the message names the run."""


def analyze_frames(records: Sequence[Mapping[str, Any]], where: str = "run") -> dict[str, Any]:
    """Latency figures of the ``frames`` records: segments, end to end, throughput, lost and accuracy."""
    ok = [r for r in records if r.get("status") == "ok"]
    if not ok:
        raise NoFramesError(f"{where}: no completed frame in its records ({len(records)} rows); nothing to measure")
    report = stage_report([r["stamps_ns"] for r in ok], BOUNDARIES, "admitted", "done")
    labelled = [r for r in ok if r.get("label") is not None]
    report["lost_frames"] = len(records) - len(ok)
    report["total_frames"] = len(records)
    report["accuracy"] = sum(r["prediction"] == r["label"] for r in labelled) / len(labelled) if labelled else None
    report["device_time"] = device_time_report(ok)
    return report


def _segment_rows(report: Mapping[str, Any], budget: Mapping[str, float] | None) -> list[list[str]]:
    rows = []
    for key, stats in report["segments"].items():
        predicted = budget.get(key) if budget else None
        rows.append(
            [
                SEGMENT_NAMES.get(key, key),
                f"{stats['p50_ms']:.3f}",
                f"{stats['p95_ms']:.3f}",
                f"{stats['p99_ms']:.3f}",
                f"{stats['mean_ms']:.3f}",
                "" if predicted is None else f"{predicted * 1e3:.3f}",
            ]
        )
    e2e = report["end_to_end"]
    total = sum(budget.values()) * 1e3 if budget else None
    rows.append(
        ["**end to end**", f"{e2e['p50_ms']:.3f}", f"{e2e['p95_ms']:.3f}", f"{e2e['p99_ms']:.3f}", f"{e2e['mean_ms']:.3f}",
         "" if total is None else f"{total:.3f}"]
    )
    return rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_report(
    title: str,
    report: Mapping[str, Any],
    budget: Mapping[str, Any] | None = None,
    baselines: Mapping[str, Mapping[str, Any]] | None = None,
    device: str | None = None,
) -> str:
    """The latency report as Markdown: stage table (measured beside predicted), throughput, baselines."""
    stages = budget.get("segments_s") if budget else None
    parts = [f"# Latency: {title}", ""]
    parts.append(
        f"{report['frames']} completed frames of {report['total_frames']} ({report['lost_frames']} lost)"
        + (f", accuracy {report['accuracy']:.4f}" if report.get("accuracy") is not None else "")
        + (f", backend on {device}" if device else "")
        + "."
    )
    parts += ["", "## Per stage (ms)", ""]
    parts.append(_table(["stage", "p50", "p95", "p99", "mean", "predicted"], _segment_rows(report, stages)))
    fps = report.get("throughput_fps")
    line = f"Throughput: **{fps:.1f} frames/s**" if fps else "Throughput: (fewer than two frames)"
    if budget:
        line += (
            f"; predicted from the bench config: {budget['throughput_fps']:.1f} frames/s, latency "
            f"{budget['latency_s'] * 1e3:.3f} ms (measured median {report['end_to_end']['p50_ms']:.3f} ms, "
            f"error {100 * (budget['latency_s'] * 1e3 / report['end_to_end']['p50_ms'] - 1):+.1f} %)."
        )
    parts += ["", line]
    timing = report.get("device_time")
    if timing and timing.get("images_per_s_bench"):
        parts += ["", f"Bench time vs wall time: the optical stage takes {timing['optical_bench_p50_ms']:.3f} ms on the bench "
                  f"itself and {timing['optical_wall_p50_ms']:.3f} ms on this machine (p50; the simulator computes "
                  f"{timing['sim_compute_p50_ms']:.3f} ms per frame, {100 * timing['sim_compute_share']:.0f} % of the optical "
                  f"stage's wall time): {timing['images_per_s_bench']:.1f} images/s in bench time, "
                  f"{timing['images_per_s_wall']:.1f} images/s in wall time (slowest stage's median)."]
    if baselines:
        parts += ["", "## Digital baselines on the same device", ""]
        rows = [
            [name, f"{b['batch1']['p50_ms']:.3f}", f"{b['batch1']['p95_ms']:.3f}", f"{b['batch1']['p99_ms']:.3f}",
             f"{b['batch1']['mean_ms']:.3f}", f"{b['throughput_fps']:.0f} (batch {b['batch']})" if b.get("throughput_fps") else ""]
            for name, b in baselines.items()
        ]
        parts.append(_table(["model", "p50 (ms)", "p95 (ms)", "p99 (ms)", "mean (ms)", "throughput (img/s)"], rows))
    parts += ["", "Plots: `latency_hist.png` (end-to-end histogram), `latency_breakdown.png` (stacked medians per stage).", ""]
    return "\n".join(parts)


def plot_histogram(records: Sequence[Mapping[str, Any]], target: Path, predicted_ms: float | None = None) -> None:
    """Histogram of end-to-end latency (ms) with p50 / p99 lines and the predicted latency."""
    ok = [r["stamps_ns"] for r in records if r.get("status") == "ok"]
    e2e = sorted((s["done"] - s["admitted"]) / 1e6 for s in ok)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(e2e, bins=min(50, max(5, len(e2e) // 4)), color="tab:blue", alpha=0.8)
    for q, style in ((50, "-"), (99, "--")):
        value = percentile(e2e, q)
        ax.axvline(value, color="k", ls=style, label=f"p{q} {value:.2f} ms")
    if predicted_ms is not None:
        ax.axvline(predicted_ms, color="tab:red", ls=":", label=f"predicted {predicted_ms:.2f} ms")
    ax.set(xlabel="end-to-end latency (ms)", ylabel="frames", title="optical inference latency")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, target, dpi=110)
    plt.close(fig)


def plot_breakdown(
    report: Mapping[str, Any],
    target: Path,
    budget: Mapping[str, Any] | None = None,
    baselines: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Stacked bars of the median time per stage: measured, predicted, and each digital baseline."""
    keys = list(report["segments"])
    bars = {"measured": {k: report["segments"][k]["p50_ms"] for k in keys}}
    if budget:
        bars["predicted"] = {k: budget["segments_s"].get(k, 0.0) * 1e3 for k in keys}
    colors = plt.get_cmap("tab20").colors
    fig, ax = plt.subplots(figsize=(10, 4.5))
    names = list(bars)
    for i, name in enumerate(names):
        left = 0.0
        for j, key in enumerate(keys):
            width = bars[name][key]
            ax.barh(i, width, left=left, color=colors[j % len(colors)], label=SEGMENT_NAMES.get(key, key) if i == 0 else None)
            left += width
        ax.text(left, i, f" {left:.2f} ms", va="center", fontsize=8)
    for name, b in (baselines or {}).items():
        value = b["batch1"]["p50_ms"]
        ax.barh(len(names), value, color="tab:gray")
        ax.text(value, len(names), f" {value:.3f} ms", va="center", fontsize=8)
        names.append(f"{name} (digital)")
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel="median time (ms)", title="per-stage breakdown")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    save_figure(fig, target, dpi=110)
    plt.close(fig)


def write_latency_report(
    folder: str | Path,
    device: torch.device,
    teacher: str | Path | None = None,
    student: str | Path | None = None,
    repeat: int = 50,
) -> dict[str, Any]:
    """Analyse the run in ``folder``; write ``latency.md``, ``latency.json`` and the two PNGs into it.

    The budget comes from the run's metrics (``budget``, written by the loop); the digital baselines
    from ``teacher`` / ``student`` checkpoints (default: the run's inputs of those roles), timed on
    ``device``. Returns ``{"report", "budget", "baselines", "device", "markdown"}``.
    """
    info = read_run(folder)
    records = info.records(STREAM)
    report = analyze_frames(records, where=str(info.folder))
    budget = info.metrics().get("budget")
    inputs = info.manifest.get("inputs") or {}
    teacher = teacher or (inputs.get("teacher") or {}).get("path")
    student = student or (inputs.get("student") or {}).get("path")
    models, example = load_baselines(teacher, student, device)
    batch = int((info.manifest.get("config") or {}).get("loop", {}).get("backend_batch", 16))
    baselines = time_models(models, example, device, repeat=repeat, batch=batch) if models else {}
    title = f"run {info.run_id}"
    text = markdown_report(title, report, budget, baselines, device=str(device))
    save_text(info.folder / "latency.md", text)
    plot_histogram(records, info.folder / "latency_hist.png", None if not budget else budget["latency_s"] * 1e3)
    plot_breakdown(report, info.folder / "latency_breakdown.png", budget, baselines)
    payload = {"report": report, "budget": budget, "baselines": baselines, "device": str(device)}
    save_json(info.folder / "latency.json", payload)
    return {**payload, "markdown": text}
