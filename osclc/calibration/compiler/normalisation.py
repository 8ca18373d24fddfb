"""Fitting a program's feature normalisation on the bench, and the frames each pattern averages.

:func:`fit_normalisation` sets each pattern's camera exposure (:func:`~osclc.calibration.compiler.exposure.auto_expose`),
then fits each output channel's gain and offset (least squares) so that the camera features match the folded
student's digital detector outputs on a few calibration images, and measures each channel's camera noise from
repeated captures to set how many frames each pattern averages (a dim, low-contrast channel stays shot-noise
limited at a safe exposure; averaging n frames divides its noise variance by n).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from osclc.calibration.compiler.exposure import auto_expose
from osclc.calibration.compiler.frame_rate import update_program_rate
from osclc.calibration.execute import prepare, run_batch
from osclc.calibration.program import OpticalProgram
from osclc.calibration.program_checks import MAX_FRAMES, ProgramError
from osclc.calibration.protocols import OpenBench

NOISE_CORRELATION = 0.999
"""Frames are averaged per pattern until camera noise alone would leave each of its channels at least this
correlated with its noise-free features (:func:`frames_for_noise`)."""

REPEATS = 4
"""Calibration images captured a second time to measure each channel's camera noise."""


def normalised_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two arrays (flattened); 0 when either is constant."""
    a = np.asarray(a, dtype=np.float64).reshape(-1) - np.mean(a)
    b = np.asarray(b, dtype=np.float64).reshape(-1) - np.mean(b)
    norm = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
    return float(np.sum(a * b) / norm) if norm > 0 else 0.0


def noise_ratio(first: np.ndarray, again: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Per channel, camera-noise variance over the variance of the noise-free signal.

    ``first`` and ``again`` [R, C_out, h, w]: two captures of the same R images; ``features`` [B, C_out, h, w]:
    captures of B images (the same units). The noise variance is half the mean square difference of the two
    captures; the signal variance is the spread of ``features`` less that noise.
    """
    noise = 0.5 * np.mean((np.asarray(first) - np.asarray(again)) ** 2, axis=(0, 2, 3))
    spread = np.var(np.asarray(features), axis=(0, 2, 3))
    signal = spread - noise
    return np.where(signal > 0, noise / np.where(signal > 0, signal, 1.0), np.inf)


def frames_for_noise(program: OpticalProgram, ratio: np.ndarray, correlation: float = NOISE_CORRELATION) -> np.ndarray:
    """Frames per pattern so that averaging brings each channel's noise-limited correlation ``1 / sqrt(1 + ratio / n)``
    to ``correlation``; ``ratio`` [C_out] was measured at the program's current ``frames``. Clipped to 1 .. MAX_FRAMES."""
    if not 0 < correlation < 1:
        raise ValueError(f"correlation must be in (0, 1), got {correlation}")
    allowed = 1.0 / correlation**2 - 1.0
    per_frame = np.asarray(ratio, dtype=np.float64)
    wanted = np.empty(len(program.pattern_channels), np.int64)
    for p, channels in enumerate(program.pattern_channels):
        worst = float(np.max(per_frame[channels])) * int(program.frames[p])
        wanted[p] = MAX_FRAMES if not np.isfinite(worst) else int(np.clip(np.ceil(worst / allowed - 1e-9), 1, MAX_FRAMES))
    return wanted


def fit_normalisation(
    bench: OpenBench, program: OpticalProgram, digital_features: np.ndarray, images: np.ndarray, expose: bool = True,
    repeats: int = REPEATS,
) -> dict[str, Any]:
    """Fit ``feature_gain`` / ``feature_offset`` per output channel on ``images`` [B, C_in, N, N].

    ``digital_features`` [B, C_out, h, w] are the folded student's detector outputs for the same images.
    Sets each pattern's exposure first (``expose``, :func:`~osclc.calibration.compiler.exposure.auto_expose`). Then,
    with ``repeats`` > 0, captures the first ``repeats`` images again, measures each channel's camera noise and sets
    the frames each pattern averages (:func:`frames_for_noise`). Returns the fit quality per channel (normalised
    correlation), the noise ratio per channel and the frames per pattern (also kept in ``program.info``).
    """
    images = np.asarray(images)
    digital = np.asarray(digital_features, dtype=np.float64)
    if digital.shape[0] != images.shape[0] or digital.shape[1:] != (program.out_channels, *program.out_size):
        raise ProgramError(f"digital features {digital.shape} do not match {images.shape[0]} images x [{program.out_channels}, {program.out_size}]")
    prepare(bench, program)
    if expose:
        auto_expose(bench, program, list(images[: min(4, len(images))]))
    program.feature_gain = np.ones(program.out_channels)
    program.feature_offset = np.zeros(program.out_channels)
    raw = run_batch(bench, program, images)
    gains, offsets, corr = [], [], []
    for o in range(program.out_channels):
        x = raw[:, o].reshape(-1)
        y = digital[:, o].reshape(-1)
        design = np.stack([x, np.ones_like(x)], axis=1)
        (gain, offset), *_ = np.linalg.lstsq(design, y, rcond=None)
        gains.append(gain)
        offsets.append(offset)
        corr.append(normalised_correlation(x, y))
    ratio = np.zeros(program.out_channels)
    repeated = min(max(int(repeats), 0), len(images))
    if repeated:
        ratio = noise_ratio(raw[:repeated], run_batch(bench, program, images[:repeated]), raw)
        program.set_frames(frames_for_noise(program, ratio))
        update_program_rate(program, bench.config)
    program.feature_gain = np.asarray(gains, dtype=np.float64)
    program.feature_offset = np.asarray(offsets, dtype=np.float64)
    program.validate()
    program.info["normalisation"] = {
        "images": int(images.shape[0]), "exposure_s": program.exposure_s.tolist(), "correlation": corr,
        "noise_ratio": [float(r) if np.isfinite(r) else None for r in ratio], "repeated_images": repeated,
        "frames": program.frames.tolist(),
    }
    return program.info["normalisation"]
