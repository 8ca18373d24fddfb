"""What to compile: the options of :func:`osclc.calibration.compiler.pipeline.compile_program`, checked once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from osclc.calibration import encoding as enc
from osclc.calibration.compiler import kernel_resampling as kr
from osclc.calibration.program import ProgramError

MULTIPLEX = ("auto", "time", "space")
ENCODING_CHOICES = ("auto", *enc.ENCODINGS)
DOUBLE_PHASE_BLOCKS = (4, 3, 2, 1)
"""Square sizes (SLM pixels) of the double-phase checkerboard tried by default, largest first: larger
squares keep more pixels away from a square's edge, where the SLM's fringing mixes the two phases
(simulated realistic bench, digits student, measured calibration: mean feature correlation 0.93 with
2, 0.96 with 4); a bench without fringing does best with 1 (``block=1``)."""
INPUT_PIXEL_WIDTH = 1.0
"""Aperture of an input-modulator pixel, in pitches: a square pixel (its fill factor is not in the bench config)."""


class CompileError(ProgramError):
    """A student that cannot be compiled for this bench (layout does not fit, unsupported detector, ...)."""


class CompileKeywords(TypedDict, total=False):
    """The keyword options of ``compile_program`` / ``compile_candidates`` (each a field of :class:`CompileOptions`)."""

    multiplex: str
    encoding: str
    exposure_s: float | None
    regularisation: float
    input_pixel_width: float | None
    input_scale: int
    block: int | None
    fringing_px: float | None
    images_per_frame: int


@dataclass(frozen=True)
class CompileOptions:
    """The compile options, checked (:class:`CompileError` naming the field and the fix).

    - ``multiplex``: "auto" (the faster of time and space that fits), "time" or "space".
    - ``encoding``: "auto" (``phase`` for a phase-only kernel, else ``double_phase``, which needs the
      smallest carrier), "double_phase", "grating" or "phase".
    - ``exposure_s``: camera exposure (s); None: the bench config's.
    - ``regularisation``: Tikhonov weight of the mask design (``kernel_resampling``).
    - ``input_pixel_width``: aperture of an input pixel in pitches, in [0, 1] (the mask is divided by its transfer
      function, :func:`osclc.calibration.compiler.slm_geometry.pixel_transfer`); None: :data:`INPUT_PIXEL_WIDTH`
      (a square pixel, fill factor 1, which is also what the simulated modulator shows).
    - ``input_scale``: modulator pixels per image pixel (each image pixel shown as a u x u block; u > 1
      shrinks the spectrum on the SLM u times, so the mask must vary faster per SLM pixel).
    - ``block``: square size (SLM pixels) of the double-phase checkerboard; None: the largest of
      :data:`DOUBLE_PHASE_BLOCKS` whose layout fits.
    - ``fringing_px``: the SLM's crosstalk blur (sigma, SLM pixels) the patterns are pre-compensated for
      (:mod:`osclc.calibration.compiler.crosstalk`); None: the calibration's measured value, 0 for none.
    - ``images_per_frame``: input images tiled on the modulator in one frame (optical batching), >= 1.
    """

    multiplex: str = "auto"
    encoding: str = "auto"
    exposure_s: float | None = None
    regularisation: float = kr.REGULARISATION
    input_pixel_width: float | None = None
    input_scale: int = 1
    block: int | None = None
    fringing_px: float | None = None
    images_per_frame: int = 1

    def __post_init__(self) -> None:
        if int(self.images_per_frame) < 1:
            raise CompileError(f"images_per_frame={self.images_per_frame}: must be an integer >= 1 (images tiled per frame)")
        if self.multiplex not in MULTIPLEX:
            raise CompileError(f"multiplex={self.multiplex!r}; use one of {', '.join(MULTIPLEX)}")
        if self.encoding not in ENCODING_CHOICES:
            raise CompileError(f"encoding={self.encoding!r}; use one of {', '.join(ENCODING_CHOICES)}")
        if int(self.input_scale) < 1:
            raise CompileError(f"input_scale={self.input_scale}: must be an integer >= 1 (modulator pixels per image pixel)")
        if self.fringing_px is not None and float(self.fringing_px) < 0:
            raise CompileError(f"fringing_px={float(self.fringing_px)}: must be >= 0 (SLM pixels; 0 switches the compensation off)")
        if not 0.0 <= self.pixel_width <= 1.0:
            raise CompileError(f"input_pixel_width={self.pixel_width}: must be in [0, 1] (fraction of the input pitch)")

    @property
    def pixel_width(self) -> float:
        """The input pixel's aperture (pitches): ``input_pixel_width`` or :data:`INPUT_PIXEL_WIDTH`."""
        return INPUT_PIXEL_WIDTH if self.input_pixel_width is None else float(self.input_pixel_width)

    def blocks(self, encoding: str) -> list[int]:
        """The double-phase square sizes to try for ``encoding`` (the chosen encoding, not "auto"), largest first."""
        if self.block is not None:
            return [int(self.block)]
        return list(DOUBLE_PHASE_BLOCKS) if encoding == "double_phase" else [1]
