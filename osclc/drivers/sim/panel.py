"""The simulated SLM panel: gray levels -> complex transmittance, with the imperfections of a real LCoS, including
those the calibration does not model (all set in ``simulation.imperfections``; off by default).

``T = (z + (1 - z) exp(i (k ** phi)(1 + r))) exp(i W)`` (the shared model of
:mod:`osclc.drivers.physics.slm_response`, generalised), and the pixel aperture's envelope on the image:

- LUT ``phi(g) = range * (g / 2**bits)**gamma`` (rad). With ``lut_gamma_variation`` / ``phase_range_variation`` (v)
  the exponent and the range vary smoothly across the panel, ``gamma (1 + v_g map)`` and ``range (1 + v_r map)``:
  ``map`` is a fixed tilt along the columns plus a bowl (Zernike Noll 2 + Noll 4 on the panel's circle, scaled to
  peak |map| = 1), the shape a liquid-crystal cell-gap variation gives (Reichelt, Appl. Opt. 52, 2610 (2013)).
- crosstalk ``k``: the kernel of ``crosstalk_shape`` with RMS width ``fringing_px``
  (:mod:`osclc.drivers.physics.crosstalk`; Gaussian, exponential or asymmetric).
- flicker ``r``: the liquid crystal's phase ripples at the refresh rate f (``slm.refresh_hz``), proportionally to the
  phase, with peak ``flicker_rad`` at the full-scale phase ``phase_range_rad``:
  ``r(t) = (flicker_rad / phase_range_rad) sin(2 pi f t + theta)``. A capture sees its mean over the exposure T
  (to first order in the ripple), ``(cos theta - cos(theta + 2 pi f T)) / (2 pi f T)`` times the peak, with a new
  random ``theta`` per frame (the camera is not synchronised with the SLM): frames fluctuate, and an exposure of
  whole refresh periods averages the ripple out.
- zero order ``z`` and cover-glass wavefront ``W`` as in the shared model.
- pixel aperture: a square reflecting area of ``pixel_fill_factor`` F of each pixel (dead space absorbs). The
  panel's field is then the pixel values convolved with the aperture, so the image (the field's transform) is
  multiplied by the aperture's transform, ``F sinc(sqrt(F) x / Q_r) sinc(sqrt(F) y / Q_c)`` (x, y: output samples
  from the axis, Q output samples per window); the rest of the light goes to the higher orders of the pixel grid,
  outside the simulated window. It applies to all light leaving the pixels (the zero order included).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from osclc.drivers.bench_config import BenchConfig, ImperfectionsConfig
from osclc.drivers.physics.crosstalk import crosstalk_blur, crosstalk_kernel
from osclc.drivers.physics.slm_response import transmittance
from osclc.drivers.physics.zernike import wavefront_map

LUT_MAP_NOLL = {2: 1.0, 4: 1.0}
"""Zernike terms (Noll index -> weight) of the smooth map along which the LUT varies across the panel."""


def phase_lut(bit_depth: int, imperfections: ImperfectionsConfig) -> np.ndarray:
    """phi(g) = phase_range_rad * (g / 2**bits)**gamma for every gray level g (rad)."""
    g = np.arange(1 << bit_depth, dtype=np.float64) / (1 << bit_depth)
    return imperfections.phase_range_rad * g ** imperfections.lut_gamma


def lut_variation_map(shape: tuple[int, int]) -> np.ndarray:
    """The smooth map (peak |map| = 1) along which gamma and phase range vary across a ``shape`` panel."""
    raw = wavefront_map(shape, LUT_MAP_NOLL)
    return raw / np.abs(raw).max()


def aperture_envelope(fill_factor: float, window: int, x: np.ndarray) -> np.ndarray:
    """Field factor along one axis of a square pixel aperture of area fraction ``fill_factor``:
    ``sqrt(F) sinc(sqrt(F) x / window)`` at output positions ``x`` (samples from the axis, ``window`` samples per
    window); the product over both axes is the image's envelope ``F sinc sinc``."""
    linear = math.sqrt(fill_factor)
    return linear * np.sinc(linear * np.asarray(x, dtype=np.float64) / window)


def ripple_mean(theta_rad: float, frequency_hz: float, exposure_s: float) -> float:
    """Mean of ``sin(2 pi f t + theta)`` over an exposure ``t`` in [0, T] (T = ``exposure_s``, f = ``frequency_hz``)."""
    turn = 2.0 * math.pi * frequency_hz * exposure_s
    if turn < 1e-9:
        return math.sin(theta_rad)
    return (math.cos(theta_rad) - math.cos(theta_rad + turn)) / turn


class SimulatedPanel:
    """The SLM panel of a simulated bench (module doc): :meth:`show` gives the transmittance of a gray pattern,
    :meth:`flickered` that of the last pattern during one exposure; ``flickers`` says whether frames fluctuate.

    ``phase_lut_rad`` is the nominal LUT (the panel centre's when it varies); ``lut_gamma_map`` and
    ``phase_range_map_rad`` the per-pixel exponent and range (None when uniform); ``wavefront_rad`` the cover glass;
    ``kernel`` the 1-D crosstalk kernel (None without fringing).
    """

    def __init__(self, config: BenchConfig, real_dtype: type, complex_dtype: type) -> None:
        imp = config.simulation.imperfections
        self.imperfections = imp
        self.shape = config.slm.shape
        self.refresh_hz = config.slm.refresh_hz
        self.real_dtype, self.complex_dtype = real_dtype, complex_dtype
        self.phase_lut_rad = phase_lut(config.slm.bit_depth, imp)
        self._lut: np.ndarray = self.phase_lut_rad.astype(real_dtype)
        self.lut_gamma_map: np.ndarray | None = None
        self.phase_range_map_rad: np.ndarray | None = None
        if imp.lut_gamma_variation or imp.phase_range_variation:
            variation = lut_variation_map(self.shape)
            self.lut_gamma_map = imp.lut_gamma * (1.0 + imp.lut_gamma_variation * variation)
            self.phase_range_map_rad = imp.phase_range_rad * (1.0 + imp.phase_range_variation * variation)
            levels = np.arange(1 << config.slm.bit_depth, dtype=np.float64) / (1 << config.slm.bit_depth)
            with np.errstate(divide="ignore"):
                self._log_levels = np.log(levels)  # -inf at gray 0: exp(gamma * -inf) = 0
        self.kernel = crosstalk_kernel(imp.crosstalk_shape, imp.fringing_px, imp.crosstalk_asymmetry) if imp.fringing_px > 0 else None
        self.wavefront_rad = wavefront_map(self.shape, imp.zernike_rad)
        self._cover: np.ndarray | None = np.exp(1j * self.wavefront_rad).astype(complex_dtype) if imp.zernike_rad else None
        self.flickers = imp.flicker_rad > 0
        self._rng = np.random.default_rng([config.simulation.seed, 1])
        self._phase: np.ndarray | None = None

    def phase(self, gray: np.ndarray) -> np.ndarray:
        """The LUT's phases (rad, real dtype) of integer gray levels ``gray`` [rows, cols], per pixel."""
        if self.phase_range_map_rad is None:
            lut = self._lut
            return cv2.LUT(gray, lut) if gray.dtype == np.uint8 and lut.dtype == np.float32 else lut[gray]
        return (self.phase_range_map_rad * np.exp(self.lut_gamma_map * self._log_levels[gray])).astype(self.real_dtype)

    def show(self, gray: np.ndarray) -> np.ndarray:
        """The transmittance (complex, shape of the panel) showing ``gray``, without flicker; keeps the blurred phase
        for :meth:`flickered`."""
        phase = self.phase(gray)
        if self.kernel is not None:
            phase = crosstalk_blur(phase, self.kernel.astype(phase.dtype))
        self._phase = phase if self.flickers else None
        return self._field(phase)

    def flickered(self, exposure_s: float) -> np.ndarray:
        """The transmittance of the last pattern during one exposure of ``exposure_s`` (s): its phase scaled by
        ``1 + r``, r the exposure's mean ripple at a random refresh phase (module doc)."""
        if self._phase is None:
            raise RuntimeError("flickered() needs flicker_rad > 0 and a pattern shown (show)")
        theta = float(self._rng.uniform(0.0, 2.0 * math.pi))
        imp = self.imperfections
        ripple = imp.flicker_rad / imp.phase_range_rad * ripple_mean(theta, self.refresh_hz, exposure_s)
        return self._field(self._phase * self.real_dtype(1.0 + ripple))

    def _field(self, phase: np.ndarray) -> np.ndarray:
        t = transmittance(phase, 0.0, self.imperfections.zero_order, self.complex_dtype)
        if self._cover is not None:
            t *= self._cover
        return t
