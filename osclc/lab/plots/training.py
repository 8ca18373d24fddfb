"""Plots of a training run (loss and accuracy per epoch), of an evaluation (confusion matrix) and of a backend
fine-tuning (validation accuracy per epoch), as PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from osclc.lab.plots.figure import plt, save_figure


def plot_history(rows: Sequence[dict[str, Any]], loss_path: Path, accuracy_path: Path, title: str = "") -> None:
    """Two PNGs from epoch rows (``epoch``, ``train_loss``, ``val_loss``, ``train_accuracy``, ``val_accuracy``)."""
    epochs = [row["epoch"] for row in rows]
    for path, key, label in ((loss_path, "loss", "loss (nats)"), (accuracy_path, "accuracy", "accuracy (%)")):
        fig, ax = plt.subplots(figsize=(5.5, 3.5), dpi=120)
        for split, style in (("train", "-o"), ("val", "-s")):
            name = f"{split}_{key}"
            if any(row.get(name) is None for row in rows):
                continue
            scale = 100.0 if key == "accuracy" else 1.0
            values = [scale * row[name] for row in rows]
            ax.plot(epochs, values, style, markersize=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(f"{title} {key}".strip())
        ax.grid(alpha=0.3)
        ax.legend()
        save_figure(fig, path, dpi=120)


def plot_confusion(confusion: np.ndarray, class_names: Sequence[str], path: Path, title: str = "") -> None:
    """Confusion matrix PNG: rows true class, columns predicted, each row normalised to 1 (counts printed)."""
    n = confusion.shape[0]
    names = list(class_names) if len(class_names) == n else [str(i) for i in range(n)]
    rows = confusion.sum(axis=1, keepdims=True)
    share = np.divide(confusion, rows, out=np.zeros(confusion.shape, dtype=float), where=rows > 0)
    size = max(4.0, 0.45 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.9), dpi=120)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if confusion[i, j]:
                    ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.5 else "black")
        ax.set_xticks(range(n), names, rotation=90 if max(map(len, names)) > 3 else 0)
        ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the true class")
    save_figure(fig, path, dpi=120)


def plot_finetune_history(history: Sequence[dict[str, float]], path: Path) -> Path:
    """Validation accuracy (fraction, on captured features) per epoch of a backend fine-tuning, as a PNG."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([h["epoch"] for h in history], [h["val_accuracy"] for h in history])
    ax.set(xlabel="epoch", ylabel="validation accuracy (captured features)", title="backend fine-tuning on the bench")
    return save_figure(fig, path)
