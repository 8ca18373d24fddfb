"""Latency budget of the optical loop predicted from the bench config alone (plus two measured compute times).

Per frame, with ``M`` masks (1 for a static or space-multiplexed program, one per output channel
for time multiplexing, each mask with its own exposure) the bench is busy for

    input switch + M x (SLM switch if M > 1) + sum of the captures' exposures + captures x (sensor readout + frame bytes / link bandwidth)

(the optical stage: the input cannot change while the camera still integrates), then the host
spends the readout/corrections time and the backend time, each measured once on the machine that
runs the loop (or given, e.g. the paper's GPU figure). The frame transfer (``rows x cols x
ceil(bit_depth / 8)`` bytes of the full camera frame over ``link_MBps``) and the SLM switch
(``max(slm.settle_s, 1 / slm.refresh_hz)``), the input switch (its settle, or a DMD's pattern period in binary
or bit-plane mode), the ROI readout of a row-reading camera come from :mod:`osclc.drivers.physics.timing`, the timing model
the drivers wait and the compiler's frame rate counts.
A mask whose frames are averaged is captured that many times.
Every exposure is counted from the settle end of its pattern: what a camera triggered by the SLM's or input's
sync output does (``camera.timing.trigger``); a software-timed camera adds the host's round trip, which the
budget leaves out (on the simulated bench's virtual clock it is zero). The predicted latency is the sum of those times; the predicted throughput is
the rate of the slowest of the three pipeline stages (optical, readout, backend), which run
concurrently.

The segments are keyed like the loop's records (:mod:`osclc.lab.loop.frame_record`) so that each
predicted time sits beside its measured median.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from numbers import Real
from typing import Sequence

from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.physics.timing import frame_bytes, input_switch_time_s, readout_time_s, switch_time_s, transfer_time_s


@dataclass(frozen=True)
class LatencyBudget:
    """Predicted times (seconds) per record segment, per pipeline stage, latency and throughput."""

    segments_s: dict[str, float]
    stages_s: dict[str, float]
    latency_s: float
    throughput_fps: float
    frame_bytes: int
    masks: int

    def as_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)


def predict_budget(
    bench: BenchConfig,
    masks: int = 1,
    readout_s: float = 0.0,
    backend_s: float = 0.0,
    exposure_s: float | Sequence[float] | None = None,
    frames: int | Sequence[int] = 1,
    roi_rows: int | None = None,
) -> LatencyBudget:
    """The latency budget of ``bench`` running a program of ``masks`` masks.

    ``readout_s`` and ``backend_s`` (s per frame) are the host compute times measured once;
    ``exposure_s`` (s) is the exposure of every mask, or one per mask (a program's ``exposure_s``);
    default: the config's exposure for every mask. ``frames`` is the number of camera frames averaged for every
    mask, or one count per mask (a program's ``frames``): each is a full capture (exposure, readout, transfer).
    ``roi_rows`` (pixels) is the height of the camera's region of interest (default: the full sensor); it shortens
    the readout and the transfer when the camera reads rows (``camera.timing.roi_readout: rows``).
    """
    if roi_rows is not None and not 1 <= roi_rows <= bench.camera.shape[0]:
        raise ValueError(f"roi_rows must be in 1 .. {bench.camera.shape[0]} (the camera's rows), got {roi_rows}")
    if masks < 1:
        raise ValueError(f"masks must be >= 1, got {masks}")
    if readout_s < 0 or backend_s < 0:
        raise ValueError(f"measured times must be >= 0 s, got readout {readout_s} s, backend {backend_s} s")
    cam = bench.camera
    exposures = [cam.exposure_s] * masks if exposure_s is None else _per_mask(exposure_s, masks)
    counts = _frames_per_mask(frames, masks)
    captures = sum(counts)
    rows = cam.shape[0] if roi_rows is None else roi_rows
    rows_readout = cam.timing.roi_readout == "rows"
    read_rows = rows if rows_readout else cam.shape[0]
    per_transfer = (readout_time_s(cam.readout_s, read_rows, cam.shape[0], rows_readout)
                    + transfer_time_s((read_rows, cam.shape[1]), cam.bit_depth, cam.link_MBps))
    slm = switch_time_s(bench.slm.settle_s, bench.slm.refresh_hz) if masks > 1 else 0.0
    segments = {
        "optical.start->input_settled": input_switch_time_s(bench.input.settle_s, bench.input.timing.pattern_rate_hz()),
        "input_settled->exposure_start": slm,
        # with several masks or frames, the "exposure" segment spans every capture but the last transfer
        "exposure_start->exposure_end": math.fsum(n * e for n, e in zip(counts, exposures))
        + (masks - 1) * slm + (captures - 1) * per_transfer,
        "exposure_end->received": per_transfer,
        "readout.start->readout.end": readout_s,
        "backend.start->backend.end": backend_s,
    }
    optical = sum(segments[k] for k in list(segments)[:4])
    stages = {"optical": optical, "readout": readout_s, "backend": backend_s}
    slowest = max(stages.values())
    return LatencyBudget(
        segments_s=segments,
        stages_s=stages,
        latency_s=sum(segments.values()),
        throughput_fps=math.inf if slowest <= 0 else 1.0 / slowest,
        frame_bytes=frame_bytes(cam.shape, cam.bit_depth),
        masks=masks,
    )


def _frames_per_mask(frames: int | Sequence[int], masks: int) -> list[int]:
    """``frames`` as one whole count >= 1 per mask: a number repeated, or a sequence of ``masks`` values."""
    values = [frames] * masks if isinstance(frames, Real) else list(frames)
    if len(values) != masks:
        raise ValueError(f"frames: {len(values)} counts for {masks} masks; give one per mask or one for all")
    if not all(float(n) == int(n) and int(n) >= 1 for n in values):
        raise ValueError(f"frames must be whole numbers >= 1 (camera frames averaged per mask), got {values}")
    return [int(n) for n in values]


def _per_mask(exposure_s: float | Sequence[float], masks: int) -> list[float]:
    """``exposure_s`` (s) as one exposure per mask: a number repeated, or a sequence of ``masks`` values."""
    values = [float(exposure_s)] * masks if isinstance(exposure_s, Real) else [float(e) for e in exposure_s]
    if len(values) != masks:
        raise ValueError(f"exposure_s: {len(values)} exposures for {masks} masks; give one per mask or one for all")
    if not all(math.isfinite(e) and e > 0 for e in values):
        raise ValueError(f"exposure_s must be positive, finite seconds, got {values}")
    return values
