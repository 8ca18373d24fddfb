"""The ``loop`` config: how the optical inference loop queues, retries, batches, paces and records."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LoopConfig(BaseModel):
    """Settings of the pipelined optical inference loop (``osclc infer``, ``osclc finetune``, ``osclc demo``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["loop"] = "loop"
    queue_depth: int = Field(
        4, ge=1, le=1024, description="frames each bounded queue between two stages holds before the stage in front blocks (frames)"
    )
    retries: int = Field(
        2, ge=0, le=100, description="extra attempts of a stage after a timed-out or dropped frame (count)"
    )
    on_lost: Literal["record", "fail"] = Field(
        "record", description="a frame still lost after its retries: record it as lost and go on, or stop the run"
    )
    capture_timeout_s: float = Field(
        1.0, gt=0.0, le=600.0, description="longest wait for one camera frame beyond its exposure before it counts as timed out (seconds)"
    )
    backend_batch: int = Field(
        16, ge=1, le=4096, description="most frames the electronic backend processes in one call; 1 = no batching (frames)"
    )
    pacing: Literal["bottleneck", "free"] = Field(
        "bottleneck",
        description="bottleneck: admit frames at the slowest stage's rate so queues stay empty and latency ~ sum of "
        "stages; free: admit as fast as the queues take them (highest throughput, queueing latency)",
    )
    pacing_margin: float = Field(
        0.02, ge=0.0, le=1.0, description="admission interval above the slowest stage's mean time (fraction)"
    )
    pacing_window: int = Field(
        16, ge=1, le=10000, description="recent frames whose mean service time sets the pacing interval (frames)"
    )
    record_batch: int = Field(
        32, ge=1, le=100000, description="frame records buffered before one committed write to the run (frames)"
    )
    record_flush_interval_s: float = Field(
        0.25, gt=0.0, le=60.0, description="longest time a finished frame waits in the buffer before it is committed (seconds)"
    )
    shutdown_timeout_s: float = Field(
        5.0, gt=0.0, le=600.0, description="longest wait for each worker thread to stop after an error or a signal (seconds)"
    )
    warmup_calls: int = Field(
        2, ge=0, le=1000, description="backend calls on zero input before the loop starts, not timed (count)"
    )
