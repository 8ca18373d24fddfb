"""Exposure control: each pattern's camera exposure set so the brightest readout sample of its channels sits at a
safe fraction of full scale, measured on the bench with a few calibration images."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from osclc.calibration.compiler.frame_rate import update_program_rate
from osclc.calibration.execute import capture_frames
from osclc.calibration.program import OpticalProgram
from osclc.calibration.protocols import OpenBench
from osclc.drivers.errors import DeviceError

TARGET_FULL_SCALE = 0.6
"""Exposure target: the brightest readout sample of each pattern at this fraction of the camera's largest count."""

SATURATED = 0.98
"""A readout sample at or above this fraction of the largest count is taken as saturated (exposure halved)."""


def _peak_readout(program: OpticalProgram, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pattern: (largest raw count, largest count above dark) over the readout taps in use (nonzero weight)
    of its channels in ``frames`` [n_patterns, rows, cols], the dark at the pattern's exposure."""
    peak, signal = np.zeros(len(frames)), np.zeros(len(frames))
    for p, frame in enumerate(frames):
        index, dark = program.used_taps(p)
        taps = frame.reshape(-1)[index]
        peak[p] = float(taps.max())
        signal[p] = float((taps - dark).max())
    return peak, signal


def auto_expose(bench: OpenBench, program: OpticalProgram, images: Sequence[np.ndarray], rounds: int = 3) -> np.ndarray:
    """Scale each pattern's exposure until the brightest readout sample of its channels over ``images`` is near
    :data:`TARGET_FULL_SCALE` of full scale; returns the exposures [n_patterns] (s), also set in ``program``
    (and its predicted frame rate updated).

    Each round captures every image with every pattern at its current exposure; a pattern whose brightest sample
    saturates has its exposure halved, the others scaled linearly to the target, all clipped to the camera's
    ``exposure_range_s``; patterns within 10 % of their wanted exposure keep it. Raises ``DeviceError`` naming
    the patterns whose readout windows see no light.
    """
    camera = bench.camera
    full = float(camera.max_count)
    low, high = camera.exposure_range_s
    for _ in range(rounds):
        readings = np.array([_peak_readout(program, capture_frames(bench, program, image)) for image in images])
        peak, signal = readings[:, 0].max(axis=0), readings[:, 1].max(axis=0)
        blind = np.flatnonzero(signal <= 0)
        if blind.size:
            channels = [program.pattern_channels[p] for p in blind]
            raise DeviceError(
                f"camera sees no light at the readout windows of pattern(s) {blind.tolist()} (output channels {channels}); "
                "is the laser on and the program for this bench?"
            )
        saturated = peak >= full * SATURATED
        factor = np.where(saturated, 0.5, (TARGET_FULL_SCALE * full - (peak - signal)) / signal)
        wanted = np.clip(program.exposure_s * factor, low, high)
        settled = (np.abs(wanted / program.exposure_s - 1) < 0.1) & ~saturated
        if settled.all():
            break
        program.set_exposure(np.where(settled, program.exposure_s, wanted))
    update_program_rate(program, bench.config)
    return program.exposure_s.copy()
