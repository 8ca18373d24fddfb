"""The SLM's optical response, shared by the simulator (which evaluates it) and calibration (which measures
and pre-compensates it).

A phase-only LCoS SLM showing gray levels whose phases are ``phi`` (rad, through its LUT) has the complex
transmittance

    T = (z + (1 - z) exp(i k ** phi)) exp(i W)

- ``k ** phi``: the fringing field between neighbouring electrodes blurs the displayed phase; ``k`` is the
  separable Gaussian of :func:`fringing_kernel` (sigma ``fringing_px`` SLM pixels), the crosstalk model of
  Persson et al., Opt. Express 20, 22334 (2012) and Moser et al., Opt. Express 27, 25046 (2019);
- ``z``: the unmodulated fraction of the field amplitude (``zero_order``), in phase with gray level 0;
- ``W``: the cover glass's wavefront error (rad; :mod:`osclc.drivers.physics.zernike`).

:func:`mean_transmittance` is the closed form of ``T``'s mean (no cover glass) over checkerboards of two
phases, which the fringing calibration fits and the compiler's dark background uses.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def fringing_kernel(sigma_px: float) -> np.ndarray:
    """Normalised 1-D Gaussian of sigma ``sigma_px`` (SLM pixels), truncated at ceil(4 sigma): the fringing blur."""
    radius = max(1, math.ceil(4 * sigma_px))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-x ** 2 / (2 * sigma_px ** 2))
    return kernel / kernel.sum()


def blur_phase(phase: np.ndarray, kernel: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """``phase`` [rows, cols] (rad, float32 or float64 like ``kernel``) blurred by the separable ``kernel`` along
    both axes (:func:`fringing_kernel`); outside the SLM the edge phase continues (``border``: an OpenCV border
    mode, ``cv2.BORDER_CONSTANT`` for zeros)."""
    return cv2.sepFilter2D(phase, -1, kernel, kernel, borderType=border)


def add_zero_order(modulated: np.ndarray, zero_order: float | np.ndarray) -> np.ndarray:
    """``z + (1 - z) * modulated``: the modulated field ``exp(i k ** phi)`` (complex) plus the unmodulated light
    (``zero_order`` z, field fraction; an array broadcasts against ``modulated``)."""
    return zero_order + (1.0 - zero_order) * modulated


def transmittance(phase: np.ndarray, sigma_px: float, zero_order: float, dtype: type) -> np.ndarray:
    """The SLM's transmittance without the cover glass, ``z + (1 - z) exp(i k ** phase)`` (complex ``dtype``), for the
    phases ``phase`` [rows, cols] (rad) of the displayed gray levels, fringing sigma ``sigma_px`` (SLM pixels, 0: none)
    and unmodulated field fraction ``zero_order``."""
    if sigma_px > 0:
        phase = blur_phase(phase, fringing_kernel(sigma_px).astype(phase.dtype))
    field: np.ndarray = np.empty(phase.shape, dtype)
    np.cos(phase, out=field.real)
    np.sin(phase, out=field.imag)
    return add_zero_order(field, zero_order) if zero_order > 0 else field


def blurred_square_wave(block_px: int, sigma_px: float) -> np.ndarray:
    """One period (``2 block_px`` pixels) of a +-1 square wave blurred by the fringing kernel (periodic)."""
    period = 2 * block_px
    wave = np.where(np.arange(period) < block_px, 1.0, -1.0)
    if sigma_px <= 0:
        return wave
    kernel = fringing_kernel(sigma_px)
    radius = kernel.size // 2
    index = (np.arange(period)[:, None] + np.arange(-radius, radius + 1)[None, :]) % period
    return wave[index] @ kernel[::-1]


def mean_transmittance(block_px: np.ndarray, phases_rad: np.ndarray, sigma_px: float, zero_order: np.ndarray | float) -> np.ndarray:
    """Mean SLM transmittance ``c0`` (complex, no cover glass) of checkerboards of ``block_px`` [n] squares alternating
    the phases ``phases_rad`` [n, 2] (rad; equal phases: a uniform pattern) under fringing ``sigma_px``; ``zero_order``
    broadcasts against the result's trailing axis [n].

    The blur of ``c + d s(x) s(y)`` (``s`` a +-1 square wave of period ``2 b``, ``c`` and ``d`` the half sum and half
    difference of the phases) is ``c + d u(x) u(y)`` with ``u = k * s`` (:func:`blurred_square_wave`), so
    ``c0 = z + (1 - z) exp(i c) mean(exp(i d u u))`` over one period.
    """
    blocks = np.asarray(block_px, dtype=np.int64)
    phases = np.asarray(phases_rad, dtype=np.float64).reshape(-1, 2)
    centre, half = phases.mean(axis=1), 0.5 * (phases[:, 0] - phases[:, 1])
    modulated = np.empty(blocks.size, complex)
    waves = {int(b): blurred_square_wave(int(b), sigma_px) for b in np.unique(blocks[blocks > 0])}
    for i, (b, c, d) in enumerate(zip(blocks, centre, half)):
        product = np.outer(waves[int(b)], waves[int(b)]) if b > 0 and d != 0 else np.ones(1)
        modulated[i] = np.exp(1j * c) * np.mean(np.exp(1j * d * product))
    z = np.asarray(zero_order, dtype=np.float64)
    return add_zero_order(modulated, z[..., None] if z.ndim else z)
