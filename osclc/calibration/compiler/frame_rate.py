"""Predicted images per second of an optical program on a bench (synchronous execution, from the config timing).

One image costs: the input modulator settle, then per SLM pattern shown for it (``time``: one per
output channel; ``space``: none, the single mask stays on the SLM) one SLM switch, and per capture the
exposure, the sensor readout and the transfer of the frame over the camera link; a pattern whose
frames are averaged (a program's ``frames``) is captured that many times. The times are those of
:mod:`osclc.drivers.physics.timing`, the model the drivers follow.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from osclc.calibration.program import OpticalProgram
from osclc.drivers.bench_config import BenchConfig, CameraConfig
from osclc.drivers.physics.timing import capture_time_s, switch_time_s, transfer_time_s


def frame_transfer_s(camera: CameraConfig) -> float:
    """Seconds to move one full camera frame over the link (0 when ``link_MBps`` is 0 = instantaneous)."""
    return transfer_time_s(camera.shape, camera.bit_depth, camera.link_MBps)


def stage_times_s(
    multiplex: str, c_out: int, bench_config: BenchConfig, exposure_s: float | Sequence[float], frames: int | Sequence[int] = 1,
) -> dict[str, float]:
    """Seconds one frame spends per stage: ``input`` (the modulator settle), ``slm`` (the pattern switches) and
    ``camera`` (the captures), for ``multiplex`` ("time" | "space") with ``c_out`` output channels; ``exposure_s`` (s)
    is one exposure for every pattern or one per pattern (a program's per-pattern exposures), ``frames`` the frames
    averaged for every pattern or per pattern (a program's ``frames``)."""
    patterns = c_out if multiplex == "time" else 1
    switches = c_out if multiplex == "time" and c_out > 1 else 0
    exposures = np.broadcast_to(np.asarray(exposure_s, dtype=np.float64), (patterns,))
    counts = np.broadcast_to(np.asarray(frames, dtype=np.int64), (patterns,))
    camera, slm = bench_config.camera, bench_config.slm
    transfer = frame_transfer_s(camera)
    return {
        "input": float(bench_config.input.settle_s),
        "slm": switches * switch_time_s(slm.settle_s, slm.refresh_hz),
        "camera": sum(int(n) * capture_time_s(float(e), camera.readout_s, transfer) for e, n in zip(exposures, counts)),
    }


def image_period_s(
    multiplex: str, c_out: int, bench_config: BenchConfig, exposure_s: float | Sequence[float], frames: int | Sequence[int] = 1,
    images: int = 1,
) -> float:
    """Seconds per image: the frame's :func:`stage_times_s` added up, shared by the ``images`` images tiled in it."""
    return sum(stage_times_s(multiplex, c_out, bench_config, exposure_s, frames).values()) / images


def predicted_frame_rate_hz(
    multiplex: str, c_out: int, bench_config: BenchConfig, exposure_s: float | Sequence[float], frames: int | Sequence[int] = 1,
    images: int = 1,
) -> float:
    """Images per second (inverse of :func:`image_period_s`; infinite for an all-zero timing model)."""
    period = image_period_s(multiplex, c_out, bench_config, exposure_s, frames, images)
    return math.inf if period <= 0 else 1.0 / period


def update_program_rate(program: OpticalProgram, bench_config: BenchConfig) -> None:
    """Re-predict the rate of ``program``'s multiplexing from its exposures and frames (after they were measured)."""
    program.frame_rate_hz[program.multiplex] = predicted_frame_rate_hz(
        program.multiplex, program.out_channels, bench_config, program.exposure_s, program.frames, program.images_per_frame)
