"""Plots of a compile run: the SLM patterns, and captured vs predicted feature maps side by side, as PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from osclc.calibration.program import OpticalProgram
from osclc.lab.plots.figure import plt, save_figure


def plot_masks(program: OpticalProgram, path: Path, count: int = 4) -> Path:
    """The first ``count`` SLM patterns (gray levels) side by side, as a PNG."""
    shown = min(count, program.patterns.shape[0])
    fig, axes = plt.subplots(1, shown, figsize=(3.2 * shown, 3.2), squeeze=False)
    for p in range(shown):
        ax = axes[0, p]
        ax.imshow(program.patterns[p], cmap="twilight", interpolation="nearest")
        ax.set_title(f"pattern {p}: channels {program.pattern_channels[p][:4]}{'...' if len(program.pattern_channels[p]) > 4 else ''}", fontsize=8)
        ax.axis("off")
    fig.suptitle(f"SLM gray levels ({program.multiplex}, {program.encoding})")
    return save_figure(fig, path)


def plot_features(captured: np.ndarray, predicted: np.ndarray, path: Path, channels: int = 4, images: int = 2) -> Path:
    """Captured (camera, normalised) vs predicted (digital) feature maps ``[N, C, h, w]`` of a few images and channels."""
    images = min(images, captured.shape[0])
    picked = np.linspace(0, captured.shape[1] - 1, min(channels, captured.shape[1])).astype(int)
    fig, axes = plt.subplots(images * 2, len(picked), figsize=(2.2 * len(picked), 2.2 * images * 2), squeeze=False)
    for i in range(images):
        for j, channel in enumerate(picked):
            top = max(float(predicted[i, channel].max()), float(captured[i, channel].max()), 1e-12)
            for row, (name, data) in enumerate((("digital", predicted), ("camera", captured))):
                ax = axes[2 * i + row, j]
                ax.imshow(data[i, channel], vmin=0, vmax=top, cmap="viridis", interpolation="nearest")
                ax.set_title(f"img {i} ch {channel} {name}", fontsize=7)
                ax.axis("off")
    fig.suptitle("predicted (digital student) vs captured (camera through the program's readout)")
    return save_figure(fig, path)
