"""A pipelined stage runner: each stage in its own worker thread, bounded queues between them.

Frame ``n + 1`` enters stage 1 while stage 2 still works on frame ``n``; a full queue blocks the
stage before it (backpressure), so memory stays bounded by ``queue_depth`` items per queue whatever
the source does. Every item carries ``time.perf_counter_ns`` timestamps at each stage boundary
(``<stage>.start`` / ``<stage>.end``, ``admitted`` and ``done``), plus whatever a stage adds
itself; ``now_ns`` is the clock (``perf_counter_ns`` unless a bench runs on a virtual clock).

Losses are never silent: a stage that raises one of the ``retryable`` exceptions (a timeout, a
dropped frame; by default ``TimeoutError``) is called again on the same item up to ``retries`` times; after that the item is
marked lost (stage, error, attempts, cause), skips the later stages and still reaches the sink, or, with
``on_lost="fail"``, stops the pipeline with :class:`FrameLostError`. Any other exception in a stage
stops every worker and is raised again in the thread that called :meth:`Pipeline.run`; so are
``KeyboardInterrupt`` and SIGTERM (``RunAborted``) arriving there, after the workers are stopped.

Pacing: ``pacing="free"`` admits frames as fast as the first queue takes them (highest
throughput, latency grows by the time frames wait in queues before the slowest stage);
``pacing="bottleneck"`` admits frames one interval apart, the interval being the slowest stage's
recent mean service time per frame times ``1 + pacing_margin`` (the mean, not the median, so the
slowest stage stays below full load even when its times are skewed), and only once the first
stage has taken the previous frame and no backlog is in flight, so queues stay nearly empty and a
frame's latency is close to the sum of its stages. Until every stage has been timed, one frame
is in flight at a time.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal

Pacing = Literal["free", "bottleneck"]
OnLost = Literal["record", "fail"]

_POLL_S = 0.02  # how often a blocked worker looks at the stop flag (seconds)
_ADMIT_POLL_S = 0.0005  # how often a paced feeder looks whether the first stage took the last frame (seconds)


class FrameLostError(RuntimeError):
    """A frame stayed lost after every retry and the loop config says to stop (``on_lost: fail``)."""


class PipelineStalled(RuntimeError):
    """A worker did not stop within the shutdown timeout; names the stage."""


@dataclass
class PipelineItem:
    """One frame travelling through the pipeline.

    ``payload`` is what the source gave; stages put their outputs in ``data``; ``stamps`` maps a
    boundary name to ``time.perf_counter_ns()``; ``attempts`` counts calls per stage; ``lost`` is
    ``None`` or ``{"stage", "error", "attempts", "cause"}`` when the frame was given up (``cause``: the
    exception's ``cause`` attribute, else its type name).
    """

    index: int
    payload: Any
    data: dict[str, Any] = field(default_factory=dict)
    stamps: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    lost: dict[str, Any] | None = None

    def stamp(self, name: str, t_ns: int) -> int:
        """Record boundary ``name`` at ``t_ns`` (nanoseconds of the pipeline's clock); returns it."""
        self.stamps[name] = int(t_ns)
        return self.stamps[name]


@dataclass(frozen=True)
class Stage:
    """A pipeline stage: ``fn(item)`` fills ``item.data``; a batching stage (``batch`` set) gets ``fn(items)``.

    With ``batch`` set, the worker takes the first waiting item and every other item already queued,
    up to ``batch`` of them, and calls ``fn`` once on the list (it never waits to fill a batch); ``batch=1``
    calls it on a list of one item.
    """

    name: str
    fn: Callable[[Any], None]
    batch: int | None = None

    def __post_init__(self) -> None:
        if not self.name or "." in self.name:
            raise ValueError(f"stage name {self.name!r}: must be non-empty and contain no '.'")
        if self.batch is not None and self.batch < 1:
            raise ValueError(f"stage {self.name}: batch must be >= 1 (or None for one item per call), got {self.batch}")


_END = object()


class _ServiceTimes:
    """Recent per-frame service time of each stage (nanoseconds), shared by workers and the feeder."""

    def __init__(self, names: list[str], window: int) -> None:
        self._lock = threading.Lock()
        self._times = {name: deque(maxlen=window) for name in names}

    def add(self, name: str, per_frame_ns: float) -> None:
        with self._lock:
            self._times[name].append(per_frame_ns)

    def means_ns(self) -> list[float] | None:
        """Each stage's recent mean, or None while some stage has no timing yet."""
        with self._lock:
            if any(not times for times in self._times.values()):
                return None
            return [sum(times) / len(times) for times in self._times.values()]


class Pipeline:
    """Runs ``stages`` over a source of payloads, in order, with bounded queues between threads.

    Parameters: ``queue_depth`` items per queue (>= 1); ``retries`` extra calls of a stage after a
    retryable failure; ``retryable`` exception types that count as a dropped/timed-out frame;
    ``on_lost`` what a frame lost after its retries does; ``pacing`` / ``pacing_margin`` /
    ``pacing_window`` how frames are admitted (module docstring); ``shutdown_timeout_s`` how long
    to wait for each worker to stop (seconds).
    """

    def __init__(
        self,
        stages: list[Stage],
        *,
        queue_depth: int = 4,
        retries: int = 0,
        retryable: tuple[type[BaseException], ...] = (TimeoutError,),
        on_lost: OnLost = "record",
        pacing: Pacing = "free",
        pacing_margin: float = 0.02,
        pacing_window: int = 16,
        shutdown_timeout_s: float = 5.0,
        now_ns: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        if not stages:
            raise ValueError("a pipeline needs at least one stage")
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique, got {names}")
        if queue_depth < 1:
            raise ValueError(f"queue_depth must be >= 1, got {queue_depth}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        if on_lost not in ("record", "fail"):
            raise ValueError(f"on_lost must be 'record' or 'fail', got {on_lost!r}")
        if pacing not in ("free", "bottleneck"):
            raise ValueError(f"pacing must be 'free' or 'bottleneck', got {pacing!r}")
        self.stages = list(stages)
        self.queue_depth = queue_depth
        self.retries = retries
        self.retryable = retryable
        self.on_lost = on_lost
        self.pacing = pacing
        self.pacing_margin = pacing_margin
        self.pacing_window = pacing_window
        self.shutdown_timeout_s = shutdown_timeout_s
        self.now_ns = now_ns
        self.max_queued = 0  # the most items seen waiting in any one queue (for backpressure checks)

    # ------------------------------------------------------------------ running

    def run(self, source: Iterable[Any], sink: Callable[[PipelineItem], None], idle: Callable[[], None] | None = None) -> int:
        """Feed every payload of ``source`` through the stages; call ``sink(item)`` on each, in order.

        ``sink`` (and ``idle``, called when no result arrived for a short while) run in the calling
        thread, so a signal handler raising there stops the pipeline. Returns the number of items
        that reached the sink. Raises the first stage error, :class:`FrameLostError`, or the
        interrupt that stopped it, after every worker has stopped.
        """
        self._stop = threading.Event()
        self._errors: list[BaseException] = []
        self._times = _ServiceTimes([s.name for s in self.stages], self.pacing_window)
        self._in_flight = 0
        self._in_flight_cv = threading.Condition()
        queues = [queue.Queue(maxsize=self.queue_depth) for _ in range(len(self.stages) + 1)]
        self._queues = queues
        threads = [threading.Thread(target=self._feed, args=(source, queues[0]), name="pipeline-feed", daemon=True)]
        for k, stage in enumerate(self.stages):
            threads.append(
                threading.Thread(
                    target=self._work, args=(stage, queues[k], queues[k + 1]), name=f"pipeline-{stage.name}", daemon=True
                )
            )
        for thread in threads:
            thread.start()
        delivered = 0
        try:
            out = queues[-1]
            while True:
                if self._errors:
                    raise self._errors[0]
                try:
                    item = out.get(timeout=_POLL_S)
                except queue.Empty:
                    if idle is not None:
                        idle()
                    continue
                if item is _END:
                    break
                item.stamp("done", self.now_ns())
                with self._in_flight_cv:
                    self._in_flight -= 1
                    self._in_flight_cv.notify_all()
                sink(item)
                delivered += 1
            if self._errors:
                raise self._errors[0]
        except KeyboardInterrupt as exc:
            self._errors.append(exc)  # an interrupt is reported as itself, never as a stalled worker
            raise
        finally:
            self._stop.set()
            self._join(threads)
        return delivered

    def _join(self, threads: list[threading.Thread]) -> None:
        deadline = time.monotonic() + self.shutdown_timeout_s
        stalled = []
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                stalled.append(thread.name)
        if stalled and not self._errors:
            raise PipelineStalled(
                f"worker(s) {', '.join(stalled)} did not stop within {self.shutdown_timeout_s} s; "
                "a stage is blocked in a call without a timeout"
            )

    def _put(self, q: queue.Queue, item: Any) -> bool:
        """Put with backpressure; False when the pipeline is stopping."""
        while not self._stop.is_set():
            try:
                q.put(item, timeout=_POLL_S)
                self.max_queued = max(self.max_queued, q.qsize())
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue) -> Any:
        """Blocking get that gives up (returns ``_END``) when the pipeline is stopping."""
        while not self._stop.is_set():
            try:
                return q.get(timeout=_POLL_S)
            except queue.Empty:
                continue
        return _END

    def _fail(self, exc: BaseException) -> None:
        self._errors.append(exc)
        self._stop.set()

    # ------------------------------------------------------------------ feeder

    def _admit_wait(self, last_due_ns: int | None) -> int:
        """Block until the pacing rule lets the next frame in; returns its due time (ns).

        Admissions follow a grid one interval apart (the due time, not the late wake-up, sets
        the next one, so sleep overshoot does not add up). A frame is only admitted once the first
        stage has taken the previous one and while no more frames are in flight than a queue-free
        pipeline holds (``ceil(sum of stage means / interval)``), so when the stages slow down (a
        loaded machine) the backlog clears instead of sitting in full queues. An empty pipeline
        always admits at once (nothing can queue), which also keeps a virtual clock, advanced only
        by the stages, from waiting on itself.
        """
        while not self._stop.is_set():
            now = self.now_ns()
            if self.pacing == "free":
                return now
            with self._in_flight_cv:
                if self._in_flight == 0:
                    return now
            means = self._times.means_ns()
            if means is None:
                with self._in_flight_cv:
                    self._in_flight_cv.wait(timeout=_POLL_S)
                continue
            interval = max(means) * (1.0 + self.pacing_margin)
            due = int((last_due_ns or now) + interval)
            # frames in flight without queueing: latency / interval; more means a backlog is waiting somewhere
            backlog = self._in_flight > math.ceil(sum(means) / interval)
            if now >= due and (backlog or not self._queues[0].empty()):
                time.sleep(_ADMIT_POLL_S)  # let the backlog (or the frame before the first stage) clear first
                continue
            if due < now - interval:  # far behind (a stall): restart the grid from now
                return now
            if now >= due:
                return due
            time.sleep(min((due - now) / 1e9, _POLL_S))
        return self.now_ns()

    def _feed(self, source: Iterable[Any], out: queue.Queue) -> None:
        try:
            last_due: int | None = None
            for index, payload in enumerate(source):
                last_due = self._admit_wait(last_due)
                if self._stop.is_set():
                    return
                item = PipelineItem(index=index, payload=payload)
                item.stamp("admitted", self.now_ns())
                with self._in_flight_cv:
                    self._in_flight += 1
                if not self._put(out, item):
                    return
            self._put(out, _END)
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            self._fail(exc)

    # ------------------------------------------------------------------ workers

    def _take(self, stage: Stage, q: queue.Queue) -> tuple[list[PipelineItem], bool]:
        """The next batch for ``stage`` and whether the end marker was met."""
        first = self._get(q)
        if first is _END:
            return [], True
        items = [first]
        while len(items) < (stage.batch or 1):
            try:
                nxt = q.get_nowait()
            except queue.Empty:
                break
            if nxt is _END:
                return items, True
            items.append(nxt)
        return items, False

    def _work(self, stage: Stage, inbox: queue.Queue, outbox: queue.Queue) -> None:
        try:
            while True:
                items, ended = self._take(stage, inbox)
                live = [item for item in items if item.lost is None]
                if live:
                    self._process(stage, live)
                for item in items:
                    if not self._put(outbox, item):
                        return
                if ended:
                    if not self._stop.is_set():
                        self._put(outbox, _END)
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            self._fail(exc)

    def _process(self, stage: Stage, items: list[PipelineItem]) -> None:
        """Call the stage on ``items`` with the retry policy; stamps ``<stage>.start`` / ``.end``."""
        name = stage.name
        while items:
            start = self.now_ns()
            for item in items:
                item.stamps[f"{name}.start"] = start
                item.attempts[name] = item.attempts.get(name, 0) + 1
            try:
                stage.fn(items if stage.batch is not None else items[0])
            except self.retryable as exc:
                exhausted = [item for item in items if item.attempts[name] > self.retries]
                for item in exhausted:
                    item.lost = {"stage": name, "error": f"{type(exc).__name__}: {exc}", "attempts": item.attempts[name],
                                 "cause": getattr(exc, "cause", type(exc).__name__)}
                    item.stamp(f"{name}.end", self.now_ns())
                    if self.on_lost == "fail":
                        raise FrameLostError(
                            f"frame {item.index} lost in stage {name} after {item.attempts[name]} attempt(s): "
                            f"{type(exc).__name__}: {exc}"
                        ) from exc
                items = [item for item in items if item.lost is None]
                continue
            end = self.now_ns()
            for item in items:
                item.stamps[f"{name}.end"] = end
            self._times.add(name, (end - start) / len(items))
            return
