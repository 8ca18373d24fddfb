"""Plot of a bench check: the camera's test frame, as PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from osclc.lab.plots.figure import plt, save_figure


def plot_frame(image: np.ndarray, path: Path, title: str) -> Path:
    """One camera frame (counts, gray scale with a colour bar) as a PNG at ``path``."""
    fig, ax = plt.subplots(figsize=(6, 5))
    shown = ax.imshow(image, cmap="gray")
    fig.colorbar(shown, ax=ax, label="counts")
    ax.set_title(title)
    ax.set_xlabel("camera column (pixels)")
    ax.set_ylabel("camera row (pixels)")
    return save_figure(fig, path, dpi=100)
