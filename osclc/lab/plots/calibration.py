"""Plots of a calibration run: LUT (measured vs the simulated truth when there is one), the affine fits,
the wavefront correction and the dark frame. Reading the simulated truth is allowed here (plots only);
the calibration code itself never reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from osclc.calibration.measure.calibrate import Calibration  # noqa: E402
from osclc.calibration.record import apply_affine  # noqa: E402


def _truth(bench: Any) -> Any:
    try:
        return bench.truth
    except LookupError:
        return None


def plot_calibration(calibration: Calibration, bench: Any, folder: Path) -> list[Path]:
    """Write the PNG plots of the steps in ``calibration.details`` into ``folder``; returns their paths."""
    record, details, truth = calibration.record, calibration.details, _truth(bench)
    written: list[Path] = []

    def save(fig: plt.Figure, name: str) -> None:
        path = folder / name
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    if "lut" in details:
        lut = details["lut"]
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        levels = np.arange(record.lut_phase_rad.size)
        ax.plot(levels, record.lut_phase_rad, label="measured")
        if truth is not None:
            ax.plot(levels, truth.phase_lut_rad - truth.phase_lut_rad[0], "--", label="simulated truth")
            ax2.plot(levels, record.lut_phase_rad - (truth.phase_lut_rad - truth.phase_lut_rad[0]))
            ax2.set_ylabel("measured - truth (rad)")
        ax.set_xlabel("gray level")
        ax.set_ylabel("phase (rad)")
        ax.legend()
        ax.set_title("SLM phase response")
        ax2.plot(lut.levels, lut.scan_ref0 / lut.scan_ref0.max(), ".", label="first orders, ref 0")
        ax2.plot(lut.levels, lut.scan_ref2 / lut.scan_ref2.max(), ".", label=f"first orders, ref {lut.ref2}")
        ax2.set_xlabel("gray level")
        ax2.legend(fontsize=8)
        save(fig, "lut.png")
    if "far_field" in details or "camera" in details:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
        panels = []
        if "far_field" in details:
            far = details["far_field"]
            used = far.inliers
            title = "far-field map: blaze spots on the camera"
            if "fourier" in details:
                dc = details["fourier"].passes[-1]
                title += f"\nDC on the SLM ({dc[0]:.2f}, {dc[1]:.2f})"
                if truth is not None:
                    title += f", simulated truth ({truth.fourier_affine[0, 2]:.2f}, {truth.fourier_affine[1, 2]:.2f})"
            fitted = far.frequencies[used] @ far.g.T + far.origin
            panels.append((axes[0], title, far.positions[used], fitted, far.rms_px))
        if "camera" in details:
            reg = details["camera"]
            used = reg.inliers
            panels.append((axes[1], "camera registration: input spots on the camera", reg.camera_points[used],
                           apply_affine(reg.affine, reg.input_points[used]), reg.rms_px))
        for ax, title, measured, fitted, rms in panels:
            magnify = 100.0
            ax.plot(fitted[:, 1], fitted[:, 0], "x", label=f"affine fit (rms {rms:.3f} px)")
            ax.quiver(fitted[:, 1], fitted[:, 0], (measured - fitted)[:, 1] * magnify, (measured - fitted)[:, 0] * magnify,
                      angles="xy", scale_units="xy", scale=1, color="C1", label=f"measured - fit, x{magnify:g}")
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("camera column")
            ax.set_ylabel("camera row")
            ax.invert_yaxis()
            ax.legend(fontsize=7)
        save(fig, "affines.png")
    if "wavefront" in details:
        fig, axes = plt.subplots(1, 2 if truth is not None else 1, figsize=(10 if truth is not None else 5, 4.2), squeeze=False)
        image = axes[0, 0].imshow(record.wavefront_phase_rad, cmap="twilight_shifted")
        axes[0, 0].set_title("wavefront correction (rad)")
        fig.colorbar(image, ax=axes[0, 0])
        if truth is not None:
            image = axes[0, 1].imshow(-truth.wavefront_rad, cmap="twilight_shifted")
            axes[0, 1].set_title("minus the simulated cover-glass error (rad)")
            fig.colorbar(image, ax=axes[0, 1])
        box = record.fits["wavefront"]["box"]
        for ax in axes[0]:
            ax.add_patch(plt.Rectangle((box[2], box[0]), box[3] - box[2], box[1] - box[0], fill=False, ec="w", ls="--"))
        save(fig, "wavefront.png")
    if "dark" in details:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
        image = axes[0].imshow(record.dark_frame, cmap="gray")
        axes[0].set_title(f"dark frame at {record.dark_exposure_s:g} s (counts)")
        fig.colorbar(image, ax=axes[0])
        image = axes[1].imshow(record.gain_frame, cmap="gray", vmin=0.9, vmax=1.1)
        axes[1].set_title("gain (flat response)")
        fig.colorbar(image, ax=axes[1])
        save(fig, "dark_gain.png")
    return written
