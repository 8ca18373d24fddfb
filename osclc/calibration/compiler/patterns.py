"""The SLM patterns of a program: per pattern, the mask of its output channels on the kernel window, encoded on
the phase-only SLM, wavefront corrected and turned into gray levels, on the dark background elsewhere.

Per pattern ``sum_o sum_i M[i, o](u) exp(2 pi i u.(t_i - tau_o) / P)`` is evaluated on the SLM pixels of the
box (``u`` the pixels' frequency bins; ``M[i, o]`` the mask that reproduces ``K[i, o]`` at the readout points,
:mod:`osclc.calibration.compiler.kernel_resampling`), divided by the input pixels' transfer function, scaled to
peak amplitude 1 and encoded (:mod:`osclc.calibration.encoding`). On an SLM with a measured crosstalk
(``fringing_px`` > 0) the encoded patterns are then optimised against the blurred SLM's model
(:mod:`osclc.calibration.compiler.crosstalk`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from osclc.calibration import encoding as enc
from osclc.calibration import lut as lut_mod
from osclc.calibration.compiler import crosstalk
from osclc.calibration.compiler import kernel_resampling as kr
from osclc.calibration.compiler.background_leak import background_leaks
from osclc.calibration.compiler.layout import Layout
from osclc.calibration.compiler.options import CompileError
from osclc.calibration.compiler.record_cache import cached
from osclc.calibration.compiler.slm_geometry import Box, ImageFrame, box_bins, slm_to_bins
from osclc.calibration.record import CalibrationRecord
from osclc.drivers.slm import gray_dtype

BACKGROUND_BLOCKS = (1, 2, 3, 4, 6)
"""Square sizes (SLM pixels) tried for the dark background checkerboard under crosstalk; the one that sends
least light onto the readout points is used (:func:`darkest_background`)."""


@dataclass(frozen=True)
class PatternJob:
    """What the patterns of one program are made from (everything but the calibration record).

    ``kernel`` [c_in, c_out, h, w] (complex); ``starts`` [c_out, 2] each channel's readout start
    (:func:`osclc.calibration.compiler.kernel_resampling.readout_start`); ``layout`` and ``groups`` (the output
    channels of each pattern); ``encoding`` (not "auto"); ``frame`` (the image-pixel frame: ``frame.pad`` is the
    frequency grid of the SLM bins in modulator pixels, ``frame.model_pad`` the model's P: bins of both are the
    same frequencies, 1/P cycles per image pixel); ``size``: N; ``regularisation`` of the mask design;
    ``transfer``: the input pixels' transfer on the box [rows, cols]; ``box``: the SLM pixels computed per
    pattern (kernel window and crosstalk margin); ``block``: the double-phase square size; ``fringing_px``: the
    crosstalk sigma compensated (0: none).
    """

    kernel: np.ndarray
    starts: np.ndarray
    layout: Layout
    groups: list[list[int]]
    encoding: str
    frame: ImageFrame
    size: int
    regularisation: float
    transfer: np.ndarray
    box: Box
    block: int
    fringing_px: float


class Patterns(NamedTuple):
    """Gray levels [n, rows, cols] (the SLM's dtype), the factor each pattern's field was scaled by (peak amplitude
    1), and the crosstalk compensation's fit (None without fringing)."""

    gray: np.ndarray
    scales: list[float]
    crosstalk_fit: dict[str, Any] | None


def design_patterns(job: PatternJob, calibration: CalibrationRecord) -> Patterns:
    """The patterns of ``job`` on the SLM of ``calibration``. Only the box is computed per pattern; the rest of the
    SLM is the (cached) dark background."""
    r0, c0, nr, nc = job.box
    window = (slice(r0, r0 + nr), slice(c0, c0 + nc))
    to_bins = slm_to_bins(calibration, job.frame.pad)
    grating_phase = _grating_phase(job, to_bins)
    scales: list[float] = []
    targets, phases, bands = [], [], []
    for p, group in enumerate(job.groups):
        field, band = _pattern_field(job, to_bins, group)
        field /= job.transfer
        peak = float(np.max(np.abs(field)))
        if not np.isfinite(peak) or peak == 0.0:
            raise CompileError(f"pattern {p} (output channels {group}) is zero or not finite on the SLM; check the kernel")
        field /= peak
        scales.append(1.0 / peak)
        phases.append(_encode(job, field, grating_phase))
        if job.fringing_px > 0:
            targets.append(field * np.exp(1j * grating_phase) if job.encoding == "grating" else field)
            bands.append(band)
    boxes, background, fit = _shown(job, calibration, phases, targets, bands)
    patterns = np.empty((len(job.groups), *calibration.slm_shape), gray_dtype(calibration.slm_bit_depth))
    for p, box_gray in enumerate(boxes):
        patterns[p] = background
        patterns[p][window] = box_gray
    return Patterns(patterns, scales, fit)


def _grating_phase(job: PatternJob, to_bins: np.ndarray) -> np.ndarray:
    """The grating encoding's carrier phase on the box (0 for the other encodings)."""
    if job.encoding != "grating":
        return np.zeros(1)
    u_row, u_col = box_bins(to_bins, job.box)
    shift = job.layout.carrier
    return -2 * np.pi * (u_row * shift[0] + u_col * shift[1]) / job.frame.model_pad


def _pattern_field(job: PatternJob, to_bins: np.ndarray, group: list[int]) -> tuple[np.ndarray, crosstalk.Band]:
    """The wanted complex field of the pattern of output channels ``group`` on the box, and where its light is read
    (its crosstalk band, filled only when the crosstalk is compensated)."""
    r0, c0, nr, nc = job.box
    pixel_rows, pixel_cols = np.arange(r0, r0 + nr), np.arange(c0, c0 + nc)
    grating_shift = job.layout.carrier if job.encoding == "grating" else np.zeros(2)
    model_pad, (c_in, _, height, width) = job.frame.model_pad, job.kernel.shape
    field = np.zeros((nr, nc), np.complex128)
    band = crosstalk.Band([], [])
    for o in group:
        d_row = kr.differences(kr.readout_positions(job.starts[o, 0], height, model_pad), job.size, model_pad)
        d_col = kr.differences(kr.readout_positions(job.starts[o, 1], width, model_pad), job.size, model_pad)
        for i in range(c_in):
            weights = kr.mask_weights(job.kernel[i, o], d_row, d_col, model_pad, job.regularisation)
            read_at = job.layout.output_shift[o] - job.layout.input_shift[i]
            field += kr.mask_on_pixels(weights, d_row, d_col, to_bins, pixel_rows, pixel_cols, (height, width), model_pad,
                                       read_at - grating_shift)
            if job.fringing_px > 0:
                rows_f, cols_f = crosstalk.band_frequencies(to_bins, crosstalk.read_points(d_row) + read_at[0],
                                                            crosstalk.read_points(d_col) + read_at[1], job.frame.pad)
                band.rows.append(rows_f)
                band.cols.append(cols_f)
    return field, band


def _encode(job: PatternJob, field: np.ndarray, grating_phase: np.ndarray) -> np.ndarray:
    """The phases (rad, box) that show ``field`` (peak amplitude 1) on the phase-only SLM with ``job.encoding``."""
    if job.encoding == "double_phase":
        return enc.double_phase(field, origin=job.box[:2], block=job.block)
    if job.encoding == "grating":
        return enc.grating(field, np.broadcast_to(grating_phase, field.shape))
    return enc.phase_only(field)


def _shown(
    job: PatternJob, calibration: CalibrationRecord, phases: list[np.ndarray], targets: list[np.ndarray],
    bands: list[crosstalk.Band],
) -> tuple[list[np.ndarray], np.ndarray, dict[str, Any] | None]:
    """Gray levels of each pattern's box, of the background, and the crosstalk fit: the encoded ``phases`` with the
    wavefront correction through the inverse LUT, or, under crosstalk, optimised to show ``targets`` in ``bands``."""
    if job.fringing_px > 0 and job.encoding == "double_phase":
        background_block, background = darkest_background(calibration, bands, job.box, job.fringing_px)
    else:
        background_block, background = None, background_gray(calibration, job.encoding, job.block, job.fringing_px)
    if job.fringing_px <= 0:
        r0, c0, nr, nc = job.box
        wavefront = calibration.wavefront_phase_rad[r0:r0 + nr, c0:c0 + nc]
        return [calibration.phase_to_gray(phase + wavefront) for phase in phases], background, None
    lut = calibration.lut_phase_rad
    shown, fit = crosstalk.compensate(
        np.stack(phases), np.stack(targets), bands, lut[background], calibration.wavefront_phase_rad, job.box,
        job.fringing_px, calibration.zero_order, (float(lut[0]), float(np.max(lut))),
        block=job.block if job.encoding == "double_phase" else None,
    )
    fit["background_block"] = background_block
    return [lut_mod.level_nearest(phase, lut) for phase in shown], background, fit


def background_gray(calibration: CalibrationRecord, encoding: str, block: int, fringing_px: float = 0.0) -> np.ndarray:
    """Gray levels of a dark mask (zero field): what the SLM shows outside the kernel window. Cached per record.

    Double phase: a checkerboard of ``block`` squares; without crosstalk a +-pi/2 one with the wavefront
    correction; with crosstalk (``fringing_px`` > 0) the pair of phases whose blurred mean cancels the
    unmodulated light too (:func:`osclc.calibration.compiler.crosstalk.dark_checkerboard`, no correction: its 2 pi
    wraps would blur into light). Otherwise flat, with the wavefront correction.
    """

    def compute() -> np.ndarray:
        if encoding == "double_phase" and fringing_px > 0:
            lut = calibration.lut_phase_rad
            low, high = crosstalk.dark_checkerboard(block, fringing_px, calibration.zero_order, (float(lut[0]), float(np.max(lut))))
            checker = enc.checkerboard(calibration.slm_shape, block=block) > 0
            return np.where(checker, *lut_mod.level_nearest(np.array([high, low]), lut))
        background = calibration.wavefront_phase_rad.copy()
        if encoding == "double_phase":
            background += (np.pi / 2) * enc.checkerboard(calibration.slm_shape, block=block)
        return calibration.phase_to_gray(background)

    key = (block, fringing_px) if encoding == "double_phase" else (0, 0.0)
    return cached(calibration, ("background", encoding, *key), compute)


def darkest_background(calibration: CalibrationRecord, bands: list[crosstalk.Band], box: Box,
                       fringing_px: float) -> tuple[int, np.ndarray]:
    """The square size and gray levels of the dark double-phase background of :data:`BACKGROUND_BLOCKS` whose light
    reaches the readout points of the first few patterns least (:func:`osclc.calibration.compiler.background_leak.background_leaks`):
    its checkerboard orders diffract at the window's edge, by an amount that depends on the geometry."""
    lut = calibration.lut_phase_rad
    tiles = [lut[background_gray(calibration, "double_phase", block, fringing_px)[:2 * block, :2 * block]] for block in BACKGROUND_BLOCKS]
    leaks = background_leaks(tiles, calibration.wavefront_phase_rad, bands[:8], box, fringing_px, calibration.zero_order)
    best = BACKGROUND_BLOCKS[int(np.argmin(leaks))]
    return best, background_gray(calibration, "double_phase", best, fringing_px)
