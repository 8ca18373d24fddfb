"""The layout search: images per frame x output channels per mask x masks per batch that maximise images/s.

A layout shows ``images`` input images tiled on the input modulator in one frame (optical batching, guard
bands of :func:`~osclc.calibration.compiler.layout.plan_layout`) and reads the ``c_out`` output channels from
``masks = ceil(c_out / per_mask)`` masks, ``per_mask`` channels in space on each (time and space multiplexing
combined). One frame costs the input modulator settle, one SLM switch per mask when there are several, and per
mask one capture (exposure, sensor readout, transfer over the camera link): the times of
:mod:`osclc.drivers.physics.timing` through :mod:`osclc.calibration.compiler.frame_rate`.

Exposure: a mask carrying ``per_mask`` channels splits the light it diffracts between them, so each channel needs
``per_mask`` times the single-channel exposure for the same signal-to-noise (a lower bound: the phase-only
encoding of a sum of kernels loses more). Batched images do not share light: every tile of the modulator is lit.

The camera frame is the full sensor (the drivers have no region of interest); the region the readout windows need
(``roi_px``) is reported so that a camera with ROI read-out can be judged.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from osclc.calibration.compiler.frame_rate import stage_times_s
from osclc.calibration.compiler.layout import Layout, plan_layout
from osclc.calibration.compiler.slm_geometry import ImageFrame
from osclc.drivers.bench_config import EXPOSURE_RANGE_S, BenchConfig

MAX_IMAGES = 256
"""Most input images per frame the search tries."""


@dataclass
class LayoutOption:
    """One candidate of the search; ``rate_hz`` is None and ``reason`` says why when it does not fit."""

    images: int
    """Input images per frame."""
    per_mask: int
    """Output channels in space on each mask."""
    masks: int
    """Masks (captures) per frame."""
    exposure_s: float
    """Exposure of each capture (s)."""
    period_s: float | None
    """Seconds per frame (None when it does not fit)."""
    rate_hz: float | None
    """Predicted images per second (None when it does not fit)."""
    limit: str | None
    """The stage that takes the longest in one frame: "input", "slm" or "camera"."""
    roi_px: list[int] | None
    """Camera rows and cols spanned by every readout window (the region a ROI read-out would need)."""
    reason: str | None
    """Why the layout does not fit (None when it does)."""

    def to_json(self) -> dict[str, object]:
        """The option as a JSON object."""
        return asdict(self)


def frame_period_s(bench_config: BenchConfig, masks: int, exposure_s: float) -> tuple[float, str]:
    """Seconds of one frame carrying ``masks`` masks at ``exposure_s`` (s) each, and its slowest stage
    ("input" settle, "slm" switches, "camera" captures): :func:`~osclc.calibration.compiler.frame_rate.stage_times_s`
    of ``masks`` time-multiplexed patterns."""
    stages = stage_times_s("time", masks, bench_config, exposure_s)
    return sum(stages.values()), max(stages, key=lambda name: stages[name])


def roi_px(layout: Layout, readout_start: np.ndarray, frame: ImageFrame, size: int) -> list[int]:
    """Camera rows and cols spanned by every readout window (P wide) of every image of ``layout``."""
    pad = frame.model_pad
    origin = layout.input_corner[0] - (pad - size) // 2
    starts = origin + np.asarray(readout_start, dtype=np.float64) + layout.output_shift
    corners = [starts[None] + layout.image_shift[:, None] + np.array(corner) for corner in ((0, 0), (0, pad), (pad, 0), (pad, pad))]
    points = np.concatenate([c.reshape(-1, 2) for c in corners])
    camera = points @ frame.camera_affine[:2, :2].T + frame.camera_affine[:2, 2]
    return [int(math.ceil(v)) for v in np.ptp(camera, axis=0)]


def _counts(limit: int) -> list[int]:
    """1, 2, 4, ... up to ``limit``, and ``limit`` itself."""
    values = [1 << k for k in range(limit.bit_length()) if 1 << k <= limit]
    return values + ([limit] if values[-1] != limit else [])


def search_layouts(
    bench_config: BenchConfig, frame: ImageFrame, encoding: str, c_in: int, c_out: int, size: int,
    readout_start: np.ndarray, exposure_s: float, block: int = 1, max_images: int = MAX_IMAGES,
) -> tuple[list[LayoutOption], dict[tuple[int, int], Layout]]:
    """Every candidate (images per frame in powers of two up to ``max_images``, channels per mask in powers of two
    up to ``c_out``), the fitting ones first by predicted images/s, and the layouts that fit keyed by
    ``(images, per_mask)``.

    ``exposure_s`` (s): the exposure one output channel alone on a mask needs; ``readout_start`` [c_out, 2] and
    ``size`` (N) as for :func:`~osclc.calibration.compiler.layout.plan_layout`. Images per frame stop growing at
    the first count that does not fit (a larger batch needs a larger area).
    """
    options: list[LayoutOption] = []
    layouts: dict[tuple[int, int], Layout] = {}
    for per_mask in _counts(c_out):
        masks = math.ceil(c_out / per_mask)
        exposure = exposure_s * per_mask
        multiplex = "time" if per_mask == 1 else "space"
        for images in _counts(max(1, max_images)):
            if exposure > EXPOSURE_RANGE_S[1]:
                options.append(LayoutOption(images, per_mask, masks, exposure, None, None, None, None,
                                            f"exposure {exposure:.3g} s over the camera's {EXPOSURE_RANGE_S[1]} s "
                                            f"({per_mask} channels share one mask's light)"))
                break
            layout = plan_layout(multiplex, encoding, c_in, c_out, size, frame.model_pad, readout_start, frame.input_shape,
                                 frame.lattice, frame.camera_affine, frame.camera_shape, block, per_mask, images)
            if layout is None:
                options.append(LayoutOption(images, per_mask, masks, exposure, None, None, None, None,
                                            "readout windows do not fit: input modulator or camera too small, or no "
                                            "carrier keeps them clear of the zero order, cross terms and encoding orders"))
                break
            period, limit = frame_period_s(bench_config, masks, exposure)
            rate = math.inf if period <= 0 else images / period
            layouts[(images, per_mask)] = layout
            options.append(LayoutOption(images, per_mask, masks, exposure, period, rate, limit,
                                        roi_px(layout, readout_start, frame, size), None))
    options.sort(key=lambda o: (o.rate_hz is None, -(o.rate_hz or 0.0), o.masks, o.images))
    return options, layouts


def format_table(options: list[LayoutOption], best: int = 5) -> str:
    """The ``best`` fitting layouts with their predicted rate, then every layout that does not fit and why."""
    lines = [f"{'images':>6} {'ch/mask':>7} {'masks':>5} {'exposure':>9} {'images/s':>10} {'limit':>6}  roi / why not"]
    fitting = [o for o in options if o.rate_hz is not None][:best]
    for o in fitting:
        lines.append(f"{o.images:>6} {o.per_mask:>7} {o.masks:>5} {o.exposure_s:>9.3g} {o.rate_hz:>10.4g} {o.limit:>6}  "
                     f"{o.roi_px[0]}x{o.roi_px[1]} px")
    for o in options:
        if o.rate_hz is None:
            lines.append(f"{o.images:>6} {o.per_mask:>7} {o.masks:>5} {o.exposure_s:>9.3g} {'-':>10} {'-':>6}  {o.reason}")
    return "\n".join(lines)
