"""The bench's timing model, the one the SLM driver waits, the simulated camera takes, the compiler predicts
frame rates with and the latency budget adds up.

- An SLM pattern can be used :func:`switch_time_s` after it is sent: the next video frame carries it and
  the liquid crystal settles.
- One software-triggered camera capture takes :func:`capture_time_s`: the exposure, the sensor readout,
  then the transfer of the full frame (:func:`frame_bytes`) over the camera link (:func:`transfer_time_s`).
- A camera that reads rows (global-shutter CMOS) reads a region of interest of ``r`` rows in ``r / rows`` of its
  full-sensor readout (:func:`readout_time_s`), the usual ROI speed-up of such sensors.
- An input modulator shows a new image :func:`input_switch_time_s` after it is sent: its settle time, or one
  pattern period of a DMD in binary or bit-plane mode, whichever is longer.
"""

from __future__ import annotations

import math


def switch_time_s(settle_s: float, refresh_hz: float) -> float:
    """Seconds from sending an SLM pattern until it can be used: the next video frame carries it (``1 / refresh_hz``)
    and the liquid crystal settles (``settle_s``); the larger of the two (a settle time as vendors quote it
    includes the frame it arrives in)."""
    return max(float(settle_s), 1.0 / float(refresh_hz))


def frame_bytes(shape: tuple[int, int], bit_depth: int) -> int:
    """Bytes of one camera frame of ``shape`` (rows, cols) pixels: ``rows * cols * ceil(bit_depth / 8)``."""
    return int(shape[0]) * int(shape[1]) * math.ceil(int(bit_depth) / 8)


def transfer_time_s(shape: tuple[int, int], bit_depth: int, link_MBps: float) -> float:
    """Seconds to move one full camera frame (:func:`frame_bytes`) over a link of ``link_MBps`` (1e6 bytes/s;
    0 = instantaneous)."""
    if link_MBps <= 0:
        return 0.0
    return frame_bytes(shape, bit_depth) / (link_MBps * 1e6)


def capture_time_s(exposure_s: float, readout_s: float, transfer_s: float) -> float:
    """Seconds of one capture, trigger to host: exposure, then sensor readout, then the frame's transfer (all s)."""
    return exposure_s + readout_s + transfer_s


def readout_time_s(readout_s: float, rows_read: int, sensor_rows: int, scales_with_rows: bool) -> float:
    """Sensor readout (s) of ``rows_read`` of ``sensor_rows`` rows: ``readout_s`` (full sensor, s) times
    ``rows_read / sensor_rows`` when the sensor reads rows (ROI speed-up), else ``readout_s``."""
    if not 1 <= rows_read <= sensor_rows:
        raise ValueError(f"rows_read must be in 1 .. {sensor_rows} (the sensor's rows), got {rows_read}")
    return float(readout_s) * (rows_read / sensor_rows if scales_with_rows else 1.0)


def input_switch_time_s(settle_s: float, pattern_rate_hz: float) -> float:
    """Seconds from sending an input image until it is shown: ``settle_s`` (s), or one pattern period
    ``1 / pattern_rate_hz`` (Hz; 0 = no pattern clock, e.g. a video-fed LCoS) when longer."""
    return max(float(settle_s), 1.0 / float(pattern_rate_hz) if pattern_rate_hz > 0 else 0.0)
