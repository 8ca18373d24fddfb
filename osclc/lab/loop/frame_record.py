"""The per-frame record the inference loop writes (stream ``frames`` of a run) and its timing boundaries.

One row per frame, in frame order, lost frames included::

    {"index": 12, "label": 3, "prediction": 3, "status": "ok" | "lost", "lost": null | {"stage", "error", "attempts", "cause"},
     "attempts": {"optical": 1, ...}, "stamps_ns": {boundary: ns, ...},
     "captures": [{"frame_index", "mask", "frames", "slm_settled_ns", "exposure_start_ns", "exposure_end_ns",
                   "received_ns", "device_timestamp_ns"}, ...],
     "backend_ms": 0.21, "backend_batch": 4, "sim_compute_ns": 0, "sim_overrun_ns": 0}

``stamps_ns`` are on the bench clock (``time.perf_counter_ns`` on a real clock). For a
time-multiplexed program, ``exposure_start`` is the first capture's and ``exposure_end`` / ``received``
the last capture's, so the "exposure" segment spans every mask change and capture but the last
transfer. A mask whose frames are averaged (``frames`` > 1) has one entry: ``frame_index`` and
``exposure_start_ns`` of its first frame, ``exposure_end_ns`` and ``received_ns`` of its last. ``backend_ms`` is the backend's time for the whole batch (CUDA events on a GPU).
``sim_compute_ns`` is the simulated devices' own compute during the frame's optical stage and ``sim_overrun_ns``
the part of it that lengthened the stage beyond the device times (:class:`osclc.drivers.clock.Clock`; both 0 on
real hardware): the stage's time on the bench itself is its wall time minus the overrun.
"""

from __future__ import annotations

STREAM = "frames"
"""Record stream of the per-frame rows."""

BOUNDARIES: tuple[str, ...] = (
    "admitted",
    "optical.start",
    "input_settled",
    "exposure_start",
    "exposure_end",
    "received",
    "readout.start",
    "readout.end",
    "backend.start",
    "backend.end",
    "done",
)
"""Timing boundaries of one frame, in the order it passes them."""

SEGMENT_NAMES: dict[str, str] = {
    "admitted->optical.start": "wait for the bench",
    "optical.start->input_settled": "input show + settle",
    "input_settled->exposure_start": "SLM mask + settle",
    "exposure_start->exposure_end": "exposure",
    "exposure_end->received": "sensor readout + transfer",
    "received->readout.start": "queue before readout",
    "readout.start->readout.end": "readout + corrections",
    "readout.end->backend.start": "queue before backend",
    "backend.start->backend.end": "backend",
    "backend.end->done": "result handling",
}
"""Readable name of each segment between consecutive boundaries."""
