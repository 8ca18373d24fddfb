"""The bench check job: open a bench, describe each device, take one test frame, close it safely; recorded in a run.

Used by ``osclc bench check``. The run (command ``bench-check``) holds one ``devices`` row per device
(identity and state), the test frame (``frame.npy``, ``frame.png``) and its figures as metrics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from osclc.drivers.bench import Bench, open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.jobs.context import JobContext
from osclc.lab.plots.bench import plot_frame
from osclc.lab.runs import Run


@dataclass(frozen=True)
class BenchCheckOptions:
    """Which bench to check.

    - ``bench``: the bench config;
    - ``timeout_s``: capture timeout (s, > 0; None: the config's ``timeout_s``);
    - ``bench_file``: the YAML ``bench`` was read from, recorded with its SHA-256 in the run's inputs.
    """

    bench: BenchConfig
    timeout_s: float | None = None
    bench_file: Path | None = None

    def __post_init__(self) -> None:
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise ValueError(f"--timeout-s {self.timeout_s}: give a capture timeout > 0 s")


@dataclass(frozen=True)
class BenchCheckResult:
    """The run folder, each device's description, the test frame's index and shape, and its figures (counts, fractions, seconds)."""

    folder: Path
    devices: list[dict[str, object]]
    frame_index: int
    frame_shape: tuple[int, ...]
    metrics: dict[str, float]


def test_image(shape: tuple[int, int]) -> np.ndarray:
    """A centred frame-and-cross test target (amplitude in [0, 1]) whose inverted image is easy to recognise."""
    rows, cols = shape
    image = np.zeros(shape, np.float32)
    r0, r1, c0, c1 = rows // 4, rows - rows // 4, cols // 4, cols - cols // 4
    width = max(1, min(rows, cols) // 32)
    image[r0:r1, c0:c0 + width] = image[r0:r1, c1 - width:c1] = 1.0
    image[r0:r0 + width, c0:c1] = image[r1 - width:r1, c0:c1] = 1.0
    image[r0:rows // 2, cols // 2 - width // 2:cols // 2 + width - width // 2] = 1.0  # upper half of a vertical bar: shows the inversion
    return image


def describe(bench: Bench) -> list[dict[str, object]]:
    """One row per device of the open ``bench``: kind, name, backend, (laser) identity, and its state."""
    rows = [{"device": "laser", "name": bench.laser.name, "backend": bench.config.laser.backend,
             "identity": bench.laser.identity(), **bench.laser.state()}]
    for kind in ("input", "slm", "camera"):
        device = getattr(bench, kind)
        rows.append({"device": kind, "name": device.name, "backend": getattr(bench.config, kind).backend, **device.state()})
    return rows


def check_bench(options: BenchCheckOptions, context: JobContext = JobContext()) -> BenchCheckResult:
    """Open the bench, say one line per device, show the test target with the laser on for one frame, record it."""
    config = options.bench
    timeout_s = options.timeout_s if options.timeout_s is not None else config.timeout_s
    inputs = {"bench_config": options.bench_file} if options.bench_file else {}
    with Run.create("bench-check", config=config, device="bench", root=context.runs_dir, inputs=inputs,
                    argv=context.argv_list) as run:
        with open_bench(config) as bench:
            described = describe(bench)
            for row in described:
                details = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("device", "name"))
                context.say(f"{row['device']:>7} {row['name']}: {details}")
            run.append("devices", described)
            bench.input.show(test_image(bench.input.shape))
            bench.slm.blank()
            bench.laser.set_emission(True)
            start = time.perf_counter()
            frame = bench.camera.capture(timeout_s=timeout_s)
            elapsed = time.perf_counter() - start
            bench.laser.set_emission(False)
        image = np.asarray(frame.image, dtype=np.float64)
        integer = np.issubdtype(frame.image.dtype, np.integer)  # float frames (quantisation off) never saturate
        saturated = float(np.mean(image >= (1 << config.camera.bit_depth) - 1)) if integer else 0.0
        run.save_array("frame", frame.image)
        plot_frame(image, run.path("frame.png"), f"{config.name}: test frame {frame.index}")
        metrics = {"frame_min": float(image.min()), "frame_max": float(image.max()), "frame_mean": float(image.mean()),
                   "saturated_fraction": saturated, "capture_wall_s": elapsed,
                   "exposure_to_receipt_s": (frame.t_received_ns - frame.t_exposure_start_ns) * 1e-9}
        run.set_metrics(**metrics)
    return BenchCheckResult(run.folder, described, int(frame.index), tuple(frame.image.shape), metrics)
