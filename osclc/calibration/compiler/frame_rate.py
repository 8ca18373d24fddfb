"""Predicted images per second of an optical program on a bench (synchronous execution, from the config timing).

One image costs: the input modulator settle, then per SLM pattern shown for it (``time``: one per
output channel; ``space``: none, the single mask stays on the SLM) one SLM frame
(``max(settle_s, 1 / refresh_hz)``), and per capture the exposure, the sensor readout and the transfer
of the frame over the camera link (``rows * cols * bytes per pixel / link bandwidth``); a pattern whose
frames are averaged (a program's ``frames``) is captured that many times.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from osclc.drivers.slm import switch_time_s


def frame_transfer_s(camera: Any) -> float:
    """Seconds to move one full camera frame over the link (0 when ``link_MBps`` is 0 = instantaneous)."""
    if camera.link_MBps <= 0:
        return 0.0
    bytes_per_pixel = math.ceil(camera.bit_depth / 8)
    return camera.shape[0] * camera.shape[1] * bytes_per_pixel / (camera.link_MBps * 1e6)


def capture_s(camera: Any, exposure_s: float) -> float:
    """Seconds of one capture: exposure + readout + transfer."""
    return exposure_s + camera.readout_s + frame_transfer_s(camera)


def pattern_switch_s(slm: Any) -> float:
    """Seconds from sending a new SLM pattern until it can be used (``slm``: the bench config's SLM section;
    what ``SLM.display`` waits, :func:`osclc.drivers.slm.switch_time_s`)."""
    return switch_time_s(slm.settle_s, slm.refresh_hz)


def image_period_s(
    multiplex: str, c_out: int, bench_config: Any, exposure_s: float | Sequence[float], frames: int | Sequence[int] = 1,
) -> float:
    """Seconds per image for ``multiplex`` ("time" | "space") with ``c_out`` output channels; ``exposure_s`` (s) is
    one exposure for every pattern or one per pattern (a program's per-pattern exposures), ``frames`` the frames
    averaged for every pattern or per pattern (a program's ``frames``)."""
    patterns = c_out if multiplex == "time" else 1
    switches = c_out if multiplex == "time" and c_out > 1 else 0
    exposures = np.broadcast_to(np.asarray(exposure_s, dtype=np.float64), (patterns,))
    counts = np.broadcast_to(np.asarray(frames, dtype=np.int64), (patterns,))
    return (
        bench_config.input.settle_s
        + switches * pattern_switch_s(bench_config.slm)
        + sum(int(n) * capture_s(bench_config.camera, float(e)) for e, n in zip(exposures, counts))
    )


def predicted_frame_rate_hz(
    multiplex: str, c_out: int, bench_config: Any, exposure_s: float | Sequence[float], frames: int | Sequence[int] = 1,
) -> float:
    """Images per second (inverse of :func:`image_period_s`; infinite for an all-zero timing model)."""
    period = image_period_s(multiplex, c_out, bench_config, exposure_s, frames)
    return math.inf if period <= 0 else 1.0 / period
