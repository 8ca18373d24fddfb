"""The bench check job: open a bench, describe each device, take test frames, judge them, close it safely; recorded in a run.

Used by ``osclc bench check``. With the laser on it takes the test target (:func:`test_image`) and the target
upside down, then with the laser off a dark frame. The checks (:func:`laser_figures`, :func:`frame_figures`: quality figures of step
``bench check``; any failure raises :class:`~osclc.calibration.quality.QualityError`, exit 1, after the run
recorded everything):

- the laser reports the power the config sets (``laser.power_mw``, within :data:`POWER_TOLERANCE`) and, when
  ``laser.options.expect_identity`` is given, an identity containing it (backends that check it when they open
  refuse earlier with the same cause);
- the lit frame is not black: it spans at least :data:`MIN_RANGE_COUNTS` counts (integer frames; float frames
  :data:`MIN_RANGE_FLOAT`) (camera gain 0, lens cap);
- the light stands above the noise: the brightest 1 % of lit - dark (pixel by pixel) is at least :data:`MIN_SNR`
  times the dark frame's noise (robust rms: 1.4826 x median absolute deviation, with the quantisation's) (laser at 0 mW, shutter closed, exposure far too short: a noise-only frame);
- at most :data:`MAX_SATURATED` of the pixels sit at full scale (integer frames);
- the frame follows the input: turning the target upside down changes the lit frame by at least
  :data:`MIN_CHANGE` of its signal (rms; a frozen camera or input modulator shows the same frame).

The run (command ``bench-check``) holds one ``devices`` row per device (identity and state), one ``quality`` row
per figure, the test frame (``frame.npy``, ``frame.png``) and its figures as metrics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from osclc.calibration.quality import Figure, judge
from osclc.drivers.bench import Bench, open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.jobs.context import JobContext
from osclc.lab.plots.bench import plot_frame
from osclc.lab.runs import Run


STEP = "bench check"
"""The step name of the figures."""

POWER_TOLERANCE = 0.05
"""Largest relative difference between the power the laser reports and the config's ``laser.power_mw``."""

MIN_RANGE_COUNTS = 2.0
"""Least span (counts, 0.1 to 99.9 percentile) of a lit integer frame that is not black."""

MIN_RANGE_FLOAT = 1e-6
"""Least span (counts) of a lit float frame (a simulated camera without quantisation: any light shows)."""

SNR_CAP = 1e9
"""Signal to noise reported when the dark frame has no noise at all (a noise-free simulated camera)."""

MIN_SNR = 10.0
"""Least ratio of the lit signal (mean of the brightest 1 % of lit - dark) to the dark frame's noise (rms)."""

MAX_SATURATED = 0.01
"""Largest fraction of pixels at full scale (hot pixels are far fewer)."""

MIN_CHANGE = 0.1
"""Least rms change of the lit frame when the target turns upside down, as a fraction of its rms signal."""


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
    """The run folder, each device's description, the test frame's index and shape, its figures (counts, fractions,
    seconds) and the quality figures (all passed or marginal, or the job raised)."""

    folder: Path
    devices: list[dict[str, object]]
    frame_index: int
    frame_shape: tuple[int, ...]
    metrics: dict[str, float]
    figures: list[Figure]


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


def laser_figures(reported_mw: float, set_mw: float, identity: str, expect_identity: str | None) -> list[Figure]:
    """The laser's figures: reported against set power (mW), and (when ``expect_identity`` is given) whether
    ``identity`` contains it (1 yes, 0 no)."""
    error = abs(reported_mw - set_mw) / set_mw if set_mw > 0 else abs(reported_mw)
    figures = [Figure(STEP, "laser power error", error, POWER_TOLERANCE, "max", "",
                      f"the laser reports {reported_mw:g} mW, the config sets laser.power_mw {set_mw:g} mW",
                      "check the laser's key switch, remote/local mode and interlock, or the config's power_mw")]
    if expect_identity:
        figures.append(Figure(STEP, "laser identity matches", float(expect_identity.lower() in identity.lower()), 1.0, "min", "",
                              f"the laser identifies as {identity!r}, not containing laser.options.expect_identity "
                              f"{expect_identity!r}", "check the port/resource, or correct expect_identity in the bench config",
                              ideal=1.0))
    return figures


def frame_figures(dark: np.ndarray, lit: np.ndarray, flipped: np.ndarray, full_scale: float | None) -> list[Figure]:
    """The frames' figures (counts as the camera gives them): ``dark`` (laser off), ``lit`` (the test target) and
    ``flipped`` (the target upside down); ``full_scale``: the saturation count of integer frames (None: float frames)."""
    dark, lit, flipped = (np.asarray(f, dtype=np.float64) for f in (dark, lit, flipped))
    low, high = np.percentile(lit, [0.1, 99.9])
    signal = lit - dark  # pixel by pixel: hot pixels and the fixed dark pattern cancel
    bright = float(np.mean(np.sort(signal, axis=None)[-max(1, signal.size // 100):]))
    quantum = 1.0 if full_scale is not None else 0.0
    noise = float(np.hypot(1.4826 * np.median(np.abs(dark - np.median(dark))), quantum / np.sqrt(12.0)))
    snr = min(bright / noise, SNR_CAP) if noise > 0 else (SNR_CAP if bright > 0 else 0.0)
    min_range = MIN_RANGE_COUNTS if full_scale is not None else MIN_RANGE_FLOAT
    rms_signal = float(np.sqrt(np.mean(signal**2)))
    change = float(np.sqrt(np.mean((lit - flipped) ** 2))) / rms_signal if rms_signal > 0 else 0.0
    figures = [
        Figure(STEP, "lit frame range", float(high - low), min_range, "min", "counts",
               "black frame: the camera sees nothing at all", "check camera.gain (0 gives black frames), the exposure "
               "and the lens cap", ideal=5 * min_range),
        Figure(STEP, "signal to noise", float(snr), MIN_SNR, "min", "",
               "noise only: no light from the laser reaches the camera", "check the laser (power, emission, shutter) "
               "and the beam path; raise camera.exposure_s if the light is very weak", ideal=5 * MIN_SNR),
        Figure(STEP, "change with the input", change, MIN_CHANGE, "min", "",
               "the frame does not change when the input image does", "check that the camera delivers new frames "
               "(trigger, buffer) and that the input modulator shows what it is sent", ideal=5 * MIN_CHANGE),
    ]
    if full_scale is not None:
        figures.append(Figure(STEP, "saturated fraction", float(np.mean(lit >= full_scale)), MAX_SATURATED, "max", "",
                              "the camera saturates", "lower camera.exposure_s, camera.gain or laser.power_mw"))
    return figures


def check_bench(options: BenchCheckOptions, context: JobContext = JobContext()) -> BenchCheckResult:
    """Open the bench, say one line per device, take the dark, lit and flipped frames, record them and judge them
    (the checks of the module docstring: :class:`~osclc.calibration.quality.QualityError` when one fails)."""
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
            target = test_image(bench.input.shape)
            bench.input.show(target)
            bench.slm.blank()
            bench.laser.set_emission(True)
            reported_mw = bench.laser.power_mw()
            start = time.perf_counter()
            frame = bench.camera.capture(timeout_s=timeout_s)
            elapsed = time.perf_counter() - start
            bench.input.show(target[::-1])
            flipped = bench.camera.capture(timeout_s=timeout_s)
            bench.laser.set_emission(False)
            dark = bench.camera.capture(timeout_s=timeout_s)
        image = np.asarray(frame.image, dtype=np.float64)
        integer = np.issubdtype(frame.image.dtype, np.integer)  # float frames (quantisation off) never saturate
        full_scale = float((1 << config.camera.bit_depth) - 1) if integer else None
        saturated = float(np.mean(image >= full_scale)) if full_scale is not None else 0.0
        run.save_array("frame", frame.image)
        plot_frame(image, run.path("frame.png"), f"{config.name}: test frame {frame.index}")
        metrics = {"frame_min": float(image.min()), "frame_max": float(image.max()), "frame_mean": float(image.mean()),
                   "saturated_fraction": saturated, "capture_wall_s": elapsed,
                   "exposure_to_receipt_s": (frame.t_received_ns - frame.t_exposure_start_ns) * 1e-9,
                   "laser_reported_mw": reported_mw}
        run.set_metrics(**metrics)
        expect = config.laser.options.get("expect_identity")
        identity = str(next(row["identity"] for row in described if row["device"] == "laser"))
        figures = [*laser_figures(reported_mw, config.laser.power_mw, identity, str(expect) if expect else None),
                   *frame_figures(dark.image, frame.image, flipped.image, full_scale)]
        run.append("quality", [f.to_json() for f in figures])
        judge(figures)
    return BenchCheckResult(run.folder, described, int(frame.index), tuple(frame.image.shape), metrics, figures)
