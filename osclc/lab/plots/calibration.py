"""Plots of a calibration run: LUT (measured vs the simulated truth when there is one), the affine fits,
the wavefront correction, the dark frame and the SLM fringing. Reading the simulated truth is allowed here (plots only);
the calibration code itself never reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from osclc.calibration.measure.calibrate import Calibration
from osclc.calibration.measure.fringing import FringingResult, mean_transmittance
from osclc.calibration.record import apply_affine
from osclc.drivers.bench import Bench
from osclc.lab.plots.figure import Figure, plt, save_figure


def _truth(bench: Bench) -> Any:
    try:
        return bench.truth
    except LookupError:
        return None


def plot_calibration(calibration: Calibration, bench: Bench, folder: Path) -> list[Path]:
    """Write the PNG plots of the steps in ``calibration.details`` into ``folder``; returns their paths."""
    record, details, truth = calibration.record, calibration.details, _truth(bench)
    written: list[Path] = []

    def save(fig: Figure, name: str) -> None:
        written.append(save_figure(fig, folder / name))

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


def plot_fringing(result: FringingResult, path: Path) -> Path:
    """The DC spot's power (relative to a unit transmittance) measured for the uniform phases and the checkerboards,
    with the fitted model's curves (and the checkerboards' without fringing, dotted); writes ``path``."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    uniform = result.blocks == 0
    phase = np.linspace(0.0, 2 * np.pi, 200)
    ax.plot(result.phases_rad[uniform, 0], result.measured[uniform], "o", label="measured")
    ax.plot(phase, np.abs(mean_transmittance(np.zeros(phase.size), np.stack([phase, phase], 1), 0.0, result.zero_order)) ** 2,
            label=f"model, zero order {result.zero_order:.4f}")
    ax.set_xlabel("uniform phase (rad)")
    ax.set_ylabel("DC power / unit-transmittance DC power")
    ax.set_title("uniform patterns: the zero order's interference")
    ax.legend(fontsize=8)
    checker = ~uniform
    pairs = np.unique(np.round(result.phases_rad[checker], 6), axis=0)
    blocks = np.arange(1, int(result.blocks.max()) + 1)
    for i, pair in enumerate(pairs):
        chosen = checker & np.all(np.isclose(result.phases_rad, pair, atol=1e-6), axis=1)
        phases = np.repeat(pair[None], blocks.size, axis=0)
        label = f"{pair[0]:.2f} / {pair[1]:.2f} rad"
        ax2.plot(result.blocks[chosen], result.measured[chosen], "o", color=f"C{i}", label=f"measured {label}")
        for sigma, style in ((result.fringing_px, "-"), (0.0, ":")):
            ax2.plot(blocks, np.abs(mean_transmittance(blocks, phases, sigma, result.zero_order)) ** 2, style, color=f"C{i}")
    ax2.set_xlabel("checkerboard square (SLM pixels)")
    ax2.set_ylabel("DC power / unit-transmittance DC power")
    ax2.set_title(f"checkerboards: fringing sigma {result.fringing_px:.3f} px (dotted: none)", fontsize=10)
    ax2.legend(fontsize=7)
    return save_figure(fig, path)
