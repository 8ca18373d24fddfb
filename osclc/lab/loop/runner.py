"""The optical inference loop: show input -> settle -> capture -> readout and corrections -> backend -> result.

Three pipelined stages (:mod:`osclc.lab.loop.pipeline`), each in its own thread with bounded queues:

1. ``optical``: the input modulator shows the image and settles; for each mask of the program
   (one for a static or space-multiplexed program, shown once before the loop; one per output
   channel for time multiplexing, cycled per frame) the SLM shows it, the camera is set to that mask's
   exposure (only when it differs from the current one) and captures. A capture darker than the program
   predicts (:mod:`osclc.lab.loop.light_check`) is retried like a dropped frame, then recorded lost with
   cause ``no_light``; a run with such frames ends ``degraded``.
   The bench cannot overlap these (the input must stay while the camera integrates), so they
   are one stage; the camera's exposure / receipt stamps split it in the records.
2. ``readout``: the program turns the captured frame(s) into features on the model grid
   (readout windows, resampling, dark and gain corrections).
3. ``backend``: the electronic backend (a torch module on ``device``) classifies a batch of up to
   ``loop.backend_batch`` frames; its time comes from synchronised CUDA events on a GPU.

The sink (in the calling thread) writes one record per frame (:mod:`osclc.lab.loop.frame_record`) into
the run as the loop goes (``Run.append`` every ``record_batch`` frames or ``record_flush_interval_s``),
so a killed process leaves every committed frame readable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
from tqdm import tqdm

from osclc.calibration.program import OpticalProgram
from osclc.calibration.execute import capture_pattern, display_pattern, prepare
from osclc.drivers.bench import Bench
from osclc.drivers.errors import TRANSIENT_ERRORS
from osclc.lab.loop.device_timing import timed_call
from osclc.lab.loop.frame_record import STREAM
from osclc.lab.loop.light_check import CAUSE, LightCheck, NoLight
from osclc.lab.loop.config import LoopConfig
from osclc.lab.loop.pipeline import Pipeline, PipelineItem, Stage
from osclc.lab.runs import Run


@dataclass
class LoopOutcome:
    """What a loop run gave: per-frame predictions (-1 for lost frames) or features, and counts
    (``lost_causes``: lost frames per cause, e.g. ``no_light``, ``FrameDropped``)."""

    frames: int
    lost: int
    predictions: np.ndarray
    labels: np.ndarray | None
    features: np.ndarray | None = None
    lost_causes: dict[str, int] = field(default_factory=dict)


class _RecordWriter:
    """Buffers frame records and commits them to the run in batches (crash-safe rows)."""

    def __init__(self, run: Run | None, loop: LoopConfig, stream: str) -> None:
        self.run, self.loop, self.stream = run, loop, stream
        self.rows: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.loop.record_batch:
            self.flush()
        else:
            self.tick()

    def tick(self) -> None:
        """Commit the buffer when its oldest row has waited ``record_flush_interval_s``."""
        if self.rows and time.monotonic() - self.last_flush >= self.loop.record_flush_interval_s:
            self.flush()

    def flush(self) -> None:
        if self.run is not None and self.rows:
            self.run.commit_buffer(self.stream, self.rows)  # rows leave the buffer when committed, even on Ctrl-C
        self.rows = []
        self.last_flush = time.monotonic()


def _optical_stage(bench: Bench, program: OpticalProgram, loop: LoopConfig) -> Callable[[PipelineItem], None]:
    masks = program.patterns.shape[0]
    light = LightCheck.for_program(program, bench.camera.max_count, bench.camera.exposure_range_s[1])

    def optical(item: PipelineItem) -> None:
        image = item.payload[0]
        compute0, overrun0 = bench.clock.compute_ns, bench.clock.overrun_ns  # only this stage's thread drives devices
        item.stamp("input_settled", bench.input.show(program.input_canvas(image)))
        captures, images = [], []
        for m in range(masks):
            settled = display_pattern(bench, program, m, always=masks > 1)  # a static program's mask stays shown
            image_m, taken = capture_pattern(bench.camera, program, m, loop.capture_timeout_s)
            if light is not None:
                light.check(m, image_m)
            images.append(image_m)
            captures.append(
                {
                    "mask": m,
                    "frame_index": taken[0].index,
                    "frames": len(taken),
                    "slm_settled_ns": settled,
                    "exposure_start_ns": taken[0].t_exposure_start_ns,
                    "exposure_end_ns": taken[-1].t_exposure_end_ns,
                    "received_ns": taken[-1].t_received_ns,
                    "device_timestamp_ns": taken[0].device_timestamp_ns,
                }
            )
        item.stamp("exposure_start", captures[0]["exposure_start_ns"])
        item.stamp("exposure_end", captures[-1]["exposure_end_ns"])
        item.stamp("received", captures[-1]["received_ns"])
        item.data["captures"] = captures
        item.data["images"] = images
        item.data["sim_compute_ns"] = bench.clock.compute_ns - compute0
        item.data["sim_overrun_ns"] = bench.clock.overrun_ns - overrun0

    return optical


def _readout_stage(program: OpticalProgram) -> Callable[[PipelineItem], None]:
    def readout(item: PipelineItem) -> None:
        item.data["features"] = program.readout(np.stack(item.data.pop("images"))).astype(np.float32)

    return readout


def _backend_stage(backend: torch.nn.Module, device: torch.device) -> Callable[[list[PipelineItem]], None]:
    def run_backend(items: list[PipelineItem]) -> None:
        batch = torch.from_numpy(np.stack([item.data["features"] for item in items]).astype(np.float32))

        def call() -> torch.Tensor:
            with torch.no_grad():
                return backend(batch.to(device, non_blocking=True))

        logits, elapsed_ms = timed_call(call, device)
        predictions = logits.argmax(dim=1).cpu().numpy()
        for item, prediction in zip(items, predictions):
            item.data["prediction"] = int(prediction)
            item.data["backend_ms"] = elapsed_ms
            item.data["backend_batch"] = len(items)

    return run_backend


def warm_up_backend(backend: torch.nn.Module, feature_shape: Sequence[int], device: torch.device, calls: int) -> None:
    """Call ``backend`` ``calls`` times on zeros ``[1, *feature_shape]`` (CUDA context, kernels, caches)."""
    zeros = torch.zeros((1, *feature_shape), device=device)
    with torch.no_grad():
        for _ in range(calls):
            timed_call(lambda: backend(zeros), device)


def frame_row(item: PipelineItem) -> dict[str, Any]:
    """The record of one finished (or lost) frame."""
    label = item.payload[1]
    return {
        "index": item.index,
        "label": None if label is None else int(label),
        "prediction": item.data.get("prediction"),
        "status": "lost" if item.lost else "ok",
        "lost": item.lost,
        "attempts": item.attempts,
        "stamps_ns": item.stamps,
        "captures": item.data.get("captures", []),
        "backend_ms": item.data.get("backend_ms"),
        "backend_batch": item.data.get("backend_batch"),
        "sim_compute_ns": item.data.get("sim_compute_ns", 0),
        "sim_overrun_ns": item.data.get("sim_overrun_ns", 0),
    }


def run_loop(
    bench: Bench,
    program: OpticalProgram,
    images: np.ndarray,
    labels: np.ndarray | None,
    loop: LoopConfig,
    *,
    backend: torch.nn.Module | None = None,
    device: torch.device | None = None,
    run: Run | None = None,
    stream: str = STREAM,
    keep_features: bool = False,
    progress: str | None = "optical inference",
) -> LoopOutcome:
    """Run ``images`` ``[N, C, H, W]`` (amplitudes in [0, 1]) through the bench and the backend.

    Without ``backend`` the loop stops after the readout (feature capture, e.g. for fine-tuning);
    ``keep_features`` returns the features ``[N, C_out, h, w]`` (NaN for lost frames). Records go to
    ``run`` stream ``stream``. The bench must be open; :func:`osclc.calibration.execute.prepare`
    checks the program fits it, switches emission on and shows the first mask (the only one of a static
    program) at its exposure before the first frame; each later mask's capture uses that mask's exposure.
    """
    device = device or torch.device("cpu")
    if images.ndim != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {images.shape}")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"{len(labels)} labels for {len(images)} images")
    if program.images_per_frame != 1:
        raise ValueError(f"the loop shows one image per frame; this program tiles {program.images_per_frame} images per "
                         "frame: run it with osclc.calibration.execute.run_batch, or compile it with images_per_frame=1")
    feature_shape = (program.out_channels, *program.out_size)
    prepare(bench, program)  # shapes checked, emission on, first pattern shown at its exposure
    stages = [Stage("optical", _optical_stage(bench, program, loop)), Stage("readout", _readout_stage(program))]
    if backend is not None:
        backend = backend.to(device).eval()
        warm_up_backend(backend, feature_shape, device, loop.warmup_calls)
        stages.append(Stage("backend", _backend_stage(backend, device), batch=loop.backend_batch))
    pipeline = Pipeline(
        stages,
        queue_depth=loop.queue_depth,
        retries=loop.retries,
        retryable=TRANSIENT_ERRORS + (TimeoutError, NoLight),
        on_lost=loop.on_lost,
        pacing=loop.pacing,
        pacing_margin=loop.pacing_margin,
        pacing_window=loop.pacing_window,
        shutdown_timeout_s=loop.shutdown_timeout_s,
        now_ns=bench.clock.now_ns,
    )
    n = len(images)
    predictions = np.full(n, -1, dtype=np.int64)
    features = np.full((n, *feature_shape), np.nan, dtype=np.float32) if keep_features else None
    writer = _RecordWriter(run, loop, stream)
    causes: dict[str, int] = {}
    bar = tqdm(total=n, desc=progress, unit="frame", disable=progress is None, leave=False)

    def sink(item: PipelineItem) -> None:
        if item.lost is not None:
            causes[item.lost["cause"]] = causes.get(item.lost["cause"], 0) + 1
        if item.data.get("prediction") is not None:
            predictions[item.index] = item.data["prediction"]
        if features is not None and "features" in item.data:
            features[item.index] = item.data["features"]
        writer.add(frame_row(item))
        bar.update(1)

    source = ((images[i], None if labels is None else labels[i]) for i in range(n))
    try:
        done = pipeline.run(source, sink, idle=writer.tick)
    finally:
        writer.flush()
        bar.close()
    dark = causes.get(CAUSE, 0)
    if dark and run is not None:
        run.degrade(f"{dark} of {n} frames of stream {stream!r} lost without light (cause {CAUSE}): the camera saw less "
                    "than the program's calibration predicts; check the laser, its interlock and the beam path")
    return LoopOutcome(done, sum(causes.values()), predictions, None if labels is None else np.asarray(labels), features,
                       causes)
