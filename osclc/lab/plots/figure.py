"""The plots' one use of matplotlib: the non-interactive backend (no display needed), and saving a figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from osclc.storage import save_figure as atomic_save_figure  # noqa: E402

__all__ = ["Figure", "plt", "save_figure"]


def save_figure(fig: Figure, path: Path, dpi: float = 110) -> Path:
    """Lay ``fig`` out, write it to ``path`` atomically (PNG at ``dpi`` dots per inch) and close it; returns ``path``."""
    fig.tight_layout()
    try:
        return atomic_save_figure(fig, path, dpi=dpi)
    finally:
        plt.close(fig)
