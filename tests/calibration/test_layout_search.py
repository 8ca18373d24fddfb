"""Optical batching geometry (images tiled with guard bands) and the layout search over images per frame x
channels per mask x masks per batch, checked against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from osclc.calibration.compiler.layout import period_lattice, plan_layout
from osclc.calibration.compiler.layout_search import format_table, frame_period_s, search_layouts
from osclc.calibration.compiler.slm_geometry import ImageFrame
from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench_config import BenchConfig

PAD, SIZE = 16, 8


def _config() -> BenchConfig:
    return BenchConfig.model_validate({
        "simulation": {"clock": "virtual"}, "input": {"settle_s": 0.01}, "slm": {"settle_s": 0.02, "refresh_hz": 60.0},
        "camera": {"readout_s": 0.005, "link_MBps": 100.0, "bit_depth": 12},
    })


@pytest.mark.parametrize("multiplex, c_out", [("time", 3), ("space", 4)])
def test_batched_images_get_guard_bands_and_clear_windows(multiplex: str, c_out: int) -> None:
    config = _config()
    calibration = CalibrationRecord.identity(config)
    lattice = period_lattice(calibration.fourier_affine[:, :2] * (calibration.fourier_pad / PAD), PAD)
    starts = np.zeros((c_out, 2))
    layout = plan_layout(multiplex, "double_phase", 1, c_out, SIZE, PAD, starts, calibration.input_shape, lattice,
                         calibration.camera_affine, calibration.camera_shape, images=2)
    assert layout is not None and layout.images == 2
    origin = layout.input_corner[0] - (PAD - SIZE) // 2
    windows = origin + starts + layout.output_shift + PAD / 2  # image 0's window centres
    all_windows = (windows[None] + layout.image_shift[:, None]).reshape(-1, 2)
    # guard band: a window of image 1 is at least P + N (the linear convolution support N + K - 1 <= P, plus the
    # readout's own reach) from every window of image 0 on some axis, so neighbouring convolutions never meet
    gaps = np.abs(windows[:, None] + layout.image_shift[1] - windows[None]).max(axis=-1)
    assert gaps.min() >= PAD + SIZE
    # every window stays clear of each image's zero-order footprint
    for shift in layout.image_shift:
        centre = layout.input_corner[0] + shift + SIZE / 2
        assert np.all(np.max(np.abs(all_windows - centre), axis=1) >= PAD / 2 + SIZE / 2 + PAD / 2)
    # both images lie on the input modulator, side by side without overlap
    corners = layout.input_corner[0] + layout.image_shift
    assert corners.min() >= 0 and np.all(corners + SIZE <= np.array(calibration.input_shape))
    assert np.abs(layout.image_shift[1]).max() >= SIZE
    # one image per frame is the layout of before (same carrier and shifts)
    single = plan_layout(multiplex, "double_phase", 1, c_out, SIZE, PAD, starts, calibration.input_shape, lattice,
                         calibration.camera_affine, calibration.camera_shape)
    assert single is not None and single.images == 1


def test_frame_period_is_the_timing_model_sum() -> None:
    config = _config()
    transfer = 256 * 256 * 2 / 100e6
    capture = 0.004 + 0.005 + transfer
    period, limit = frame_period_s(config, 4, 0.004)
    assert period == pytest.approx(0.01 + 4 * max(0.02, 1 / 60) + 4 * capture) and limit == "slm"
    period, limit = frame_period_s(config, 1, 0.004)
    assert period == pytest.approx(0.01 + capture) and limit == "camera"


def test_layout_search_ranks_by_images_per_second_and_says_why_others_do_not_fit() -> None:
    config = _config()
    calibration = CalibrationRecord.identity(config)
    frame = ImageFrame(calibration, PAD, 1)
    options, layouts = search_layouts(config, frame, "double_phase", 1, 4, SIZE, np.zeros((4, 2)), 1e-3)
    fitting = [o for o in options if o.rate_hz is not None]
    refused = [o for o in options if o.rate_hz is None]
    assert fitting and refused and all(o.reason for o in refused)
    rates = [o.rate_hz for o in fitting]
    assert rates == sorted(rates, reverse=True)
    for o in fitting:
        masks = math.ceil(4 / o.per_mask)
        expected = o.images / frame_period_s(config, masks, 1e-3 * o.per_mask)[0]
        assert o.masks == masks and o.rate_hz == pytest.approx(expected)
        assert layouts[(o.images, o.per_mask)].images == o.images
    today = next(o for o in fitting if o.images == 1 and o.per_mask == 1)
    assert fitting[0].rate_hz > today.rate_hz  # batching and space multiplexing beat one image, time-multiplexed
    assert any(o.images > 1 for o in fitting)
    table = format_table(options)
    assert "images/s" in table and refused[0].reason in table
    # an exposure the camera cannot take is refused with its reason
    options, _ = search_layouts(config, frame, "double_phase", 1, 4, SIZE, np.zeros((4, 2)), 4.0)
    assert any(o.reason and "exposure" in o.reason for o in options)
