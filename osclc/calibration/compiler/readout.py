"""The readout tables of a program: where each output channel's model grid lands on the camera, as bicubic taps,
and the dark frame they are corrected with.

Each model grid point's window position -> output plane (image pixels, plus the channel's shift) -> camera
pixels through the camera affine of the :class:`~osclc.calibration.compiler.slm_geometry.ImageFrame` -> 16
bicubic taps (:mod:`osclc.calibration.compiler.camera_sampling`).
"""

from __future__ import annotations

import numpy as np

from osclc.calibration.compiler import kernel_resampling as kr
from osclc.calibration.compiler.camera_sampling import bicubic_taps
from osclc.calibration.compiler.layout import Layout
from osclc.calibration.compiler.options import CompileError
from osclc.calibration.compiler.record_cache import cached
from osclc.calibration.compiler.slm_geometry import ImageFrame
from osclc.calibration.record import CalibrationRecord, apply_affine


def readout_tables(
    layout: Layout, starts: np.ndarray, frame: ImageFrame, size: int, out_size: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Bicubic camera taps [images, c_out, h*w, 16] (flat indices, weights) of every model grid point of every channel
    of every image of the frame (each image's outputs at its own ``layout.image_shift``).

    ``starts`` [c_out, 2]: each channel's readout start on the model's P window (``frame.model_pad``); ``size``: N.
    """
    pad = frame.model_pad
    origin = layout.input_corner[0] - (pad - size) // 2
    indices, weights = [], []
    for i, shift in enumerate(layout.image_shift):
        for o, (start_r, start_c) in enumerate(starts):
            rows = kr.readout_positions(start_r, out_size[0], pad)
            cols = kr.readout_positions(start_c, out_size[1], pad)
            points = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2) + origin + layout.output_shift[o]
            camera = apply_affine(frame.camera_affine, points + shift)
            try:
                index, weight = bicubic_taps(camera, frame.camera_shape)
            except ValueError as exc:
                raise CompileError(f"image {i}, output channel {o}: {exc}") from exc
            indices.append(index)
            weights.append(weight)
    shape = (len(layout.image_shift), len(starts), -1, 16)
    return np.stack(indices).reshape(shape), np.stack(weights).reshape(shape)


def dark_at(calibration: CalibrationRecord, exposure_s: float) -> np.ndarray:
    """:meth:`CalibrationRecord.dark_at` ``exposure_s`` (counts), computed once per (record, exposure) and read-only
    (programs share it: a program never writes into its dark frame, it adds each pattern's exposure at the taps)."""
    return cached(calibration, ("dark", exposure_s), lambda: calibration.dark_at(exposure_s))
