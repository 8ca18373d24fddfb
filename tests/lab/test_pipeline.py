"""The pipelined stage runner with fake stages: order, backpressure, retries and losses, shutdown."""

from __future__ import annotations

import threading
import time

import pytest

from osclc.lab.loop.pipeline import FrameLostError, Pipeline, PipelineItem, Stage


def _add(name: str, amount: int, sleep_s: float = 0.0):
    def fn(item: PipelineItem) -> None:
        if sleep_s:
            time.sleep(sleep_s)
        item.data[name] = item.data.get("value", item.payload) + amount
        item.data["value"] = item.data[name]

    return fn


def _pipeline_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("pipeline-")]


@pytest.mark.parametrize("pacing", ["free", "bottleneck"])
def test_every_item_arrives_in_order_with_stamps(pacing):
    stages = [Stage("a", _add("a", 1, 0.001)), Stage("b", _add("b", 10)), Stage("c", _add("c", 100, 0.002))]
    seen: list[PipelineItem] = []
    n = Pipeline(stages, queue_depth=2, pacing=pacing).run(range(30), seen.append)
    assert n == 30
    assert [item.index for item in seen] == list(range(30))
    assert [item.data["value"] for item in seen] == [i + 111 for i in range(30)]
    for item in seen:
        s = item.stamps
        order = ["admitted", "a.start", "a.end", "b.start", "b.end", "c.start", "c.end", "done"]
        assert [s[k] for k in order] == sorted(s[k] for k in order)
        assert item.lost is None and item.attempts == {"a": 1, "b": 1, "c": 1}
    assert _pipeline_threads() == []


def test_backpressure_bounds_frames_in_flight():
    produced = [0]
    in_flight_seen = []

    def source():
        for i in range(40):
            produced[0] += 1
            yield i

    consumed = [0]

    def sink(item):
        consumed[0] += 1
        in_flight_seen.append(produced[0] - consumed[0])

    depth = 2
    stages = [Stage("fast", _add("fast", 1)), Stage("slow", _add("slow", 1, 0.003))]
    pipe = Pipeline(stages, queue_depth=depth, pacing="free")
    pipe.run(source(), sink)
    # queues of `depth` before each stage and the sink, one item in each worker, one in the feeder's hand
    bound = (len(stages) + 1) * depth + len(stages) + 1
    assert max(in_flight_seen) <= bound
    assert pipe.max_queued <= depth
    # and the slow stage really held the producer back (it did not run ahead to the end)
    assert min(in_flight_seen[:5]) >= 1


def test_retry_then_success_and_recorded_loss():
    calls: dict[int, int] = {}

    def flaky(item: PipelineItem) -> None:
        calls[item.index] = calls.get(item.index, 0) + 1
        if item.index == 3 and calls[3] == 1:
            raise TimeoutError("camera: no frame within 1 s")
        if item.index == 7:
            raise TimeoutError("camera: no frame within 1 s")
        item.data["ok"] = True

    after: list[int] = []
    stages = [Stage("capture", flaky), Stage("backend", lambda item: after.append(item.index))]
    seen: list[PipelineItem] = []
    Pipeline(stages, retries=2, on_lost="record").run(range(10), seen.append)
    assert [i.index for i in seen] == list(range(10))  # the lost frame still reaches the sink
    lost = [i for i in seen if i.lost]
    assert [i.index for i in lost] == [7]
    assert lost[0].lost["stage"] == "capture" and lost[0].lost["attempts"] == 3
    assert "TimeoutError" in lost[0].lost["error"]
    assert seen[3].attempts["capture"] == 2 and seen[3].lost is None
    assert 7 not in after  # later stages skip a lost frame
    assert calls[7] == 3


def test_lost_frame_stops_the_run_when_configured():
    def always_late(item: PipelineItem) -> None:
        if item.index == 2:
            raise TimeoutError("late")

    seen: list[PipelineItem] = []
    with pytest.raises(FrameLostError, match="frame 2 lost in stage s after 2 attempt"):
        Pipeline([Stage("s", always_late)], retries=1, on_lost="fail").run(range(20), seen.append)
    assert all(item.index < 2 for item in seen)
    assert _pipeline_threads() == []


def test_other_errors_are_not_retried_and_stop_every_worker():
    calls = []

    def broken(item: PipelineItem) -> None:
        calls.append(item.index)
        if item.index == 4:
            raise RuntimeError("backend exploded")

    with pytest.raises(RuntimeError, match="backend exploded"):
        Pipeline([Stage("a", _add("a", 1)), Stage("b", broken)], retries=5).run(range(1000), lambda item: None)
    assert calls.count(4) == 1
    assert _pipeline_threads() == []


def test_batched_stage_takes_what_is_waiting():
    sizes: list[int] = []

    def batch_fn(items: list[PipelineItem]) -> None:
        sizes.append(len(items))
        time.sleep(0.004)
        for item in items:
            item.data["y"] = item.payload * 2

    seen: list[PipelineItem] = []
    Pipeline([Stage("feed", lambda item: None), Stage("backend", batch_fn, batch=5)], queue_depth=8).run(range(40), seen.append)
    assert [i.data["y"] for i in seen] == [2 * i for i in range(40)]
    assert sum(sizes) == 40 and max(sizes) <= 5 and max(sizes) > 1


def test_batched_stage_of_one_gets_a_list_of_one():
    """``batch=1`` (the loop's ``backend_batch: 1``) calls the batch function on one-item lists, not on bare items."""
    calls: list[int] = []

    def batch_fn(items: list[PipelineItem]) -> None:
        calls.append(len(items))
        for item in items:
            item.data["y"] = item.payload + 1

    seen: list[PipelineItem] = []
    Pipeline([Stage("backend", batch_fn, batch=1)]).run(range(6), seen.append)
    assert calls == [1] * 6 and [i.data["y"] for i in seen] == list(range(1, 7))


def test_interrupt_in_the_calling_thread_stops_workers():
    def sink(item):
        if item.index == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Pipeline([Stage("a", _add("a", 1, 0.001))]).run(iter(range(10**9)), sink)
    assert _pipeline_threads() == []


def test_bad_pipelines_are_refused():
    with pytest.raises(ValueError, match="unique"):
        Pipeline([Stage("a", print), Stage("a", print)])
    with pytest.raises(ValueError, match="queue_depth"):
        Pipeline([Stage("a", print)], queue_depth=0)
    with pytest.raises(ValueError, match="no '.'"):
        Stage("a.b", print)
