"""The compiler's optics: where the kernel window lies on the SLM, the frequency bin of each SLM pixel, and the
input pixels' transfer function the mask is divided by.

All of it follows the calibration record's Fourier affine (``fourier.affine``: bins -> SLM pixels) and camera
affine, seen in *image pixels* (:class:`ImageFrame`) when each image pixel is shown as a block of modulator pixels.
"""

from __future__ import annotations

import numpy as np

from osclc.calibration.compiler import kernel_resampling as kr
from osclc.calibration.compiler.layout import period_lattice
from osclc.calibration.compiler.options import CompileError
from osclc.calibration.compiler.record_cache import cached
from osclc.calibration.record import CalibrationRecord, invert_affine

Box = tuple[int, int, int, int]
"""An SLM pixel box (row0, col0, rows, cols)."""


class ImageFrame:
    """The bench seen in *image pixels* when each image pixel is shown as a ``scale`` x ``scale`` modulator block.

    Image-frame coordinate X is the centre of modulator block ``[scale X, scale X + scale)``, i.e. modulator
    coordinate ``scale X + (scale - 1) / 2``. Frequencies are bins of the P grid in image pixels (``model_pad``),
    i.e. of a ``scale * P`` grid in modulator pixels (``pad``, for the calibration record's conversions).
    ``slm_per_bin`` (2x2): SLM pixels per bin of ``pad``; ``lattice``: the output plane's period
    (:func:`osclc.calibration.compiler.layout.period_lattice`); ``camera_affine``: image-frame coordinates ->
    camera pixels; ``input_shape`` and ``camera_shape``: the modulator in image pixels, the camera in its pixels.
    """

    def __init__(self, calibration: CalibrationRecord, pad: int, scale: int) -> None:
        self.scale, self.model_pad, self.pad = scale, pad, scale * pad
        self.slm_per_bin = calibration.fourier_affine[:, :2] * (calibration.fourier_pad / self.pad)
        self.lattice = period_lattice(self.slm_per_bin, pad)
        frame = np.array([[scale, 0.0, (scale - 1) / 2], [0.0, scale, (scale - 1) / 2], [0.0, 0.0, 1.0]])
        self.camera_affine = calibration.camera_affine @ frame
        self.input_shape = (calibration.input_shape[0] // scale, calibration.input_shape[1] // scale)
        self.camera_shape = calibration.camera_shape


def aperture_box(calibration: CalibrationRecord, pad: int, window: tuple[int, int], margin: int = 0) -> Box:
    """SLM pixel box covering the kernel window (``window``: h x w bins of a ``pad`` grid) and ``margin`` pixels
    around it (as far as the SLM goes; the compiled pattern may use them, the mask is zero there)."""
    height, width = window
    lo_r, hi_r = kr.aperture_bounds(height)
    lo_c, hi_c = kr.aperture_bounds(width)
    corners = np.array([[r, c] for r in (lo_r, hi_r) for c in (lo_c, hi_c)])
    slm = calibration.bins_to_slm(corners, pad=pad)
    rows, cols = calibration.slm_shape
    r0, c0 = int(np.floor(slm[:, 0].min())), int(np.floor(slm[:, 1].min()))
    r1, c1 = int(np.ceil(slm[:, 0].max())) + 1, int(np.ceil(slm[:, 1].max())) + 1
    if r0 < 0 or c0 < 0 or r1 > rows or c1 > cols:
        raise CompileError(
            f"the kernel window ({height}x{width} bins of P={pad}) spans SLM rows {r0}..{r1 - 1}, cols {c0}..{c1 - 1}, "
            f"outside the {rows}x{cols} SLM; use a larger P or a smaller output grid"
        )
    r0, c0, r1, c1 = max(r0 - margin, 0), max(c0 - margin, 0), min(r1 + margin, rows), min(c1 + margin, cols)
    return r0, c0, r1 - r0, c1 - c0


def slm_to_bins(calibration: CalibrationRecord, pad: int) -> np.ndarray:
    """2x3 affine: SLM pixel (row, col) -> fractional bins of a ``pad`` grid (:meth:`CalibrationRecord.slm_to_bins`)."""
    return invert_affine(calibration.fourier_affine) * (pad / calibration.fourier_pad)


def box_bins(to_bins: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """Fractional bins (row axis, col axis) of the box's pixels, each [rows, 1], [1, cols] or [rows, cols]
    (an axis that depends on one pixel coordinate only is kept 1-D: broadcasting does the rest)."""
    r0, c0, nr, nc = box
    rows = np.arange(r0, r0 + nr, dtype=np.float64)[:, None]
    cols = np.arange(c0, c0 + nc, dtype=np.float64)[None, :]
    row_bins, col_bins = (
        np.asarray(b[2] + (b[0] * rows if b[0] else 0.0) + (b[1] * cols if b[1] else 0.0)) for b in to_bins
    )
    return row_bins, col_bins


def box_transfer(calibration: CalibrationRecord, frame: ImageFrame, width: float, box: Box) -> np.ndarray:
    """:func:`pixel_transfer` of image pixels of aperture ``width`` (pitches) on the box's SLM pixels [rows, cols]
    (read-only, cached per record and arguments)."""

    def compute() -> np.ndarray:
        u_row, u_col = box_bins(slm_to_bins(calibration, frame.pad), box)
        return np.broadcast_to(pixel_transfer(u_row, u_col, frame.model_pad, frame.scale, width), box[2:]).copy()

    return cached(calibration, ("transfer", frame.pad, frame.model_pad, frame.scale, width, box), compute)


def pixel_transfer(row_bins: np.ndarray, col_bins: np.ndarray, pad: int, scale: int, width: float) -> np.ndarray:
    """Amplitude transfer of one image pixel (``scale`` x ``scale`` modulator pixels of aperture ``width`` pitches).

    At image frequency ``f = bins / P`` (cycles per image pixel; ``row_bins`` and ``col_bins`` broadcast
    against each other, e.g. [rows, 1] and [1, cols]), per axis:
    ``sin(pi f) / (scale sin(pi f / scale)) * sinc(width f / scale)`` (the block's phase is its centre, the
    frame origin). The mask is divided by it so the optics sees point-like image pixels, as the model does.
    """
    out = np.ones(())
    for bins in (row_bins, col_bins):
        f = np.asarray(bins, dtype=np.float64) / pad
        block = np.ones_like(f) if scale == 1 else np.sinc(f) / np.sinc(f / scale)
        out = out * (block * np.sinc(width * f / scale))
    return out
