"""Results of a multi-seed experiment: per-variant mean +- 95 % t-interval, written as results.json / results.md.

Shared by every ``osclc experiment <task>``: a task produces one :class:`VariantResult` per
model variant (its figure on the test split for each seed) and :func:`write_results` turns them
into ``results.json`` (one entry per variant: name, ``<metric>_mean``, ``interval`` [low, high],
``half_width``, ``n_test``, ``seeds``, ``per_seed``), ``results.md`` (a table) and ``results.png``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from osclc.lab.runs import Run  # noqa: E402
from osclc.models.training.evaluation import mean_interval  # noqa: E402
from osclc.storage import save_figure, save_json, save_text  # noqa: E402


@dataclass
class VariantResult:
    """One variant's figure (a fraction, e.g. accuracy) on the test split for each seed."""

    name: str
    description: str
    values: list[float] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    n_test: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def add(self, seed: int, value: float, n_test: int) -> None:
        """Record the figure of one seed."""
        self.seeds.append(seed)
        self.values.append(float(value))
        self.n_test = n_test

    def summary(self, metric: str) -> dict[str, Any]:
        """The results.json entry: mean, 95 % t-interval over seeds (NaN half width for one seed -> null)."""
        stats = mean_interval(self.values)
        half = None if math.isnan(stats.half_width) else stats.half_width
        return {
            "name": self.name,
            "description": self.description,
            f"{metric}_mean": stats.mean,
            "half_width": half,
            "interval": [stats.low, stats.high] if half is not None else None,
            "n_test": self.n_test,
            "seeds": list(self.seeds),
            "per_seed": list(self.values),
            "settings": dict(self.settings),
        }


def markdown_table(results: Sequence[VariantResult], metric: str, title: str, note: str = "") -> str:
    """A markdown table of the variants: mean +- half width (percent), interval, seeds, n_test."""
    lines = [f"### {title}", ""]
    if note:
        lines += [note, ""]
    lines += [
        f"| variant | model | {metric} (mean ± 95 % CI, %) | per seed (%) | seeds | n_test |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        entry = result.summary(metric)
        mean = 100 * entry[f"{metric}_mean"]
        half = entry["half_width"]
        figure = f"{mean:.2f} ± {100 * half:.2f}" if half is not None else f"{mean:.2f} (one seed)"
        per_seed = ", ".join(f"{100 * v:.2f}" for v in result.values)
        lines.append(
            f"| `{result.name}` | {result.description} | {figure} | {per_seed} | {len(result.seeds)} | {result.n_test} |"
        )
    return "\n".join(lines) + "\n"


def _plot(results: Sequence[VariantResult], metric: str, path: Path, title: str) -> None:
    entries = [r.summary(metric) for r in results]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(entries) + 1), 3.8), dpi=120)
    means = [100 * e[f"{metric}_mean"] for e in entries]
    errors = [100 * (e["half_width"] or 0.0) for e in entries]
    # points with their interval (a bar from 0 would hide differences of a few points)
    ax.errorbar(range(len(entries)), means, yerr=errors, fmt="o", capsize=4, color="#2f5f9e")
    ax.set_xticks(range(len(entries)), [e["name"] for e in entries], rotation=35, ha="right")
    ax.set_ylabel(f"{metric} (%), mean ± 95 % CI")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def write_results(
    run: Run, results: Sequence[VariantResult], metric: str, title: str, note: str = "", extra: dict[str, Any] | None = None
) -> str:
    """Write results.json, results.md and results.png into ``run``; returns the markdown table."""
    document = {"title": title, "metric": metric, "confidence": 0.95, "variants": [r.summary(metric) for r in results]}
    document.update(extra or {})
    save_json(run.path("results.json"), document)
    table = markdown_table(results, metric, title, note)
    save_text(run.path("results.md"), table)
    _plot(results, metric, run.path("results.png"), title)
    run.set_metrics(**{f"{r.name}_{metric}_mean": r.summary(metric)[f"{metric}_mean"] for r in results})
    return table
