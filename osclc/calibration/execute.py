"""Executing an optical program on an open bench, synchronously, and fitting its feature normalisation.

:func:`run_image` is the simplest correct execution (show the input, for each pattern display it if it
is not already on the SLM, set the camera to that pattern's exposure if it is not already, capture, read
out); the pipelined loop (``osclc.lab``) overlaps these stages. :func:`fit_normalisation` sets each
pattern's camera exposure so the brightest readout sample of its channels sits at a safe fraction of
full scale (:func:`auto_expose`), then fits each output channel's gain and offset (least squares) so
that the camera features match the folded student's digital detector outputs on a few calibration images,
and measures each channel's camera noise from repeated captures to set how many frames each pattern
averages (a dim, low-contrast channel stays shot-noise limited at a safe exposure; averaging n frames
divides its noise variance by n).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from osclc.calibration.compiler import frame_rate
from osclc.calibration.program import MAX_FRAMES, OpticalProgram, ProgramError
from osclc.drivers.errors import DeviceError

TARGET_FULL_SCALE = 0.6
"""Exposure target: the brightest readout sample of each pattern at this fraction of the camera's largest count."""

NOISE_CORRELATION = 0.999
"""Frames are averaged per pattern until camera noise alone would leave each of its channels at least this
correlated with its noise-free features (:func:`frames_for_noise`)."""

REPEATS = 4
"""Calibration images captured a second time to measure each channel's camera noise."""

SATURATED = 0.98
"""A readout sample at or above this fraction of the largest count is taken as saturated (exposure halved)."""


def apply_exposure(camera: Any, program: OpticalProgram, pattern: int) -> float:
    """Set ``camera`` to pattern ``pattern``'s exposure unless it is already there (no device call then); returns it (s).

    Capture timeouts count from the end of the exposure: callers wait ``timeout + exposure`` for the frame, so a
    long exposure of a dim pattern is not taken for a lost frame.
    """
    wanted = float(program.exposure_s[pattern])
    if camera.exposure_s != wanted:
        camera.exposure_s = wanted
    return wanted


def prepare(bench: Any, program: OpticalProgram) -> None:
    """Check the program fits ``bench`` (shapes), emission on, first pattern displayed at its exposure."""
    if tuple(bench.slm.shape) != tuple(program.patterns.shape[1:]):
        raise ProgramError(f"program patterns are {program.patterns.shape[1:]} but the SLM is {bench.slm.shape}; recompile")
    if tuple(bench.camera.shape) != program.camera_shape:
        raise ProgramError(f"program reads a {program.camera_shape} camera but the bench camera gives {bench.camera.shape} frames")
    if tuple(bench.input.shape) != program.input_shape:
        raise ProgramError(f"program places inputs on a {program.input_shape} modulator but the bench has {bench.input.shape}")
    if not bench.laser.status().emission:
        bench.laser.set_emission(True)
    _display(bench, program, 0)
    apply_exposure(bench.camera, program, 0)


def _display(bench: Any, program: OpticalProgram, pattern: int) -> None:
    """Show ``patterns[pattern]`` unless it is what the SLM already shows."""
    shown = getattr(bench.slm, "displayed", None)
    wanted = program.patterns[pattern]
    if shown is None or shown.shape != wanted.shape or not np.array_equal(shown, wanted):
        bench.slm.display(wanted.astype(bench.slm.dtype, copy=False))


def capture_pattern(camera: Any, program: OpticalProgram, pattern: int, timeout_s: float) -> tuple[np.ndarray, list[Any]]:
    """The camera image of pattern ``pattern`` (already displayed): the mean of its ``program.frames[pattern]``
    captures at its exposure (float64 counts), and the captured frames (for their timestamps).

    Each capture waits ``timeout_s`` beyond its exposure.
    """
    exposure = apply_exposure(camera, program, pattern)
    taken = [camera.capture(timeout_s=timeout_s + exposure) for _ in range(int(program.frames[pattern]))]
    if len(taken) == 1:
        return taken[0].image.astype(np.float64), taken
    return np.mean([frame.image for frame in taken], axis=0, dtype=np.float64), taken


def capture_frames(bench: Any, program: OpticalProgram, image: np.ndarray, timeout_s: float | None = None) -> np.ndarray:
    """Camera images [n_patterns, rows, cols] (float64, each the mean of its pattern's frames) of ``image`` [C_in, N, N]
    (amplitude in [0, 1])."""
    timeout = bench.config.timeout_s if timeout_s is None else timeout_s
    bench.input.show(program.input_canvas(image))
    frames = np.empty((program.patterns.shape[0], *program.camera_shape))
    for p in range(program.patterns.shape[0]):
        _display(bench, program, p)
        frames[p] = capture_pattern(bench.camera, program, p, timeout)[0]
    return frames


def run_image(bench: Any, program: OpticalProgram, image: np.ndarray) -> np.ndarray:
    """Features [C_out, h, w] of one image (call :func:`prepare` once first)."""
    return program.readout(capture_frames(bench, program, image))


def run_batch(bench: Any, program: OpticalProgram, images: np.ndarray, progress: Any = None) -> np.ndarray:
    """Features [B, C_out, h, w] of ``images`` [B, C_in, N, N], pattern-major (each mask displayed once).

    For evaluation on many images: the SLM (and the exposure) changes ``n_patterns`` times instead of per image.
    ``progress`` (optional) is called with the number of captures done after each one.
    """
    images = np.asarray(images)
    timeout = bench.config.timeout_s
    out = np.empty((len(images), program.out_channels, *program.out_size))
    done = 0
    for p, channels in enumerate(program.pattern_channels):
        _display(bench, program, p)
        for b, image in enumerate(images):
            bench.input.show(program.input_canvas(image))
            out[b, channels] = program.readout_channels(p, capture_pattern(bench.camera, program, p, timeout)[0])
            done += 1
            if progress is not None:
                progress(done)
    return out


def _peak_readout(program: OpticalProgram, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pattern: (largest raw count, largest count above dark) over the readout taps in use (nonzero weight)
    of its channels in ``frames`` [n_patterns, rows, cols], the dark at the pattern's exposure."""
    peak, signal = np.zeros(len(frames)), np.zeros(len(frames))
    for p, frame in enumerate(frames):
        channels = program.pattern_channels[p]
        used = program.sample_weight[channels] != 0
        taps = frame.reshape(-1)[program.sample_index[channels][used]]
        peak[p] = float(taps.max())
        signal[p] = float((taps - program.tap_dark(p)[used]).max())
    return peak, signal


def auto_expose(bench: Any, program: OpticalProgram, images: Sequence[np.ndarray], rounds: int = 3) -> np.ndarray:
    """Scale each pattern's exposure until the brightest readout sample of its channels over ``images`` is near
    :data:`TARGET_FULL_SCALE` of full scale; returns the exposures [n_patterns] (s), also set in ``program``.

    Each round captures every image with every pattern at its current exposure; a pattern whose brightest sample
    saturates has its exposure halved, the others scaled linearly to the target, all clipped to the camera's
    ``exposure_range_s``; patterns within 10 % of their wanted exposure keep it. Raises ``DeviceError`` naming
    the patterns whose readout windows see no light.
    """
    camera = bench.camera
    full = float(camera.max_count)
    low, high = camera.exposure_range_s
    for _ in range(rounds):
        readings = np.array([_peak_readout(program, capture_frames(bench, program, image)) for image in images])
        peak, signal = readings[:, 0].max(axis=0), readings[:, 1].max(axis=0)
        blind = np.flatnonzero(signal <= 0)
        if blind.size:
            channels = [program.pattern_channels[p] for p in blind]
            raise DeviceError(
                f"camera sees no light at the readout windows of pattern(s) {blind.tolist()} (output channels {channels}); "
                "is the laser on and the program for this bench?"
            )
        saturated = peak >= full * SATURATED
        factor = np.where(saturated, 0.5, (TARGET_FULL_SCALE * full - (peak - signal)) / signal)
        wanted = np.clip(program.exposure_s * factor, low, high)
        settled = (np.abs(wanted / program.exposure_s - 1) < 0.1) & ~saturated
        if settled.all():
            break
        program.set_exposure(np.where(settled, program.exposure_s, wanted))
    _update_frame_rate(bench, program)
    return program.exposure_s.copy()


def _update_frame_rate(bench: Any, program: OpticalProgram) -> None:
    """Re-predict the rate of the program's multiplexing from its exposures and frames on ``bench``."""
    program.frame_rate_hz[program.multiplex] = frame_rate.predicted_frame_rate_hz(
        program.multiplex, program.out_channels, bench.config, program.exposure_s, program.frames)


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
    bench: Any, program: OpticalProgram, digital_features: np.ndarray, images: np.ndarray, expose: bool = True,
    repeats: int = REPEATS,
) -> dict[str, Any]:
    """Fit ``feature_gain`` / ``feature_offset`` per output channel on ``images`` [B, C_in, N, N].

    ``digital_features`` [B, C_out, h, w] are the folded student's detector outputs for the same images.
    Sets each pattern's exposure first (``expose``, :func:`auto_expose`). Then, with ``repeats`` > 0, captures
    the first ``repeats`` images again, measures each channel's camera noise and sets the frames each pattern
    averages (:func:`frames_for_noise`). Returns the fit quality per channel (normalised correlation), the
    noise ratio per channel and the frames per pattern.
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
        _update_frame_rate(bench, program)
    program.feature_gain = np.asarray(gains, dtype=np.float64)
    program.feature_offset = np.asarray(offsets, dtype=np.float64)
    program.validate()
    program.info["normalisation"] = {
        "images": int(images.shape[0]), "exposure_s": program.exposure_s.tolist(), "correlation": corr,
        "noise_ratio": [float(r) if np.isfinite(r) else None for r in ratio], "repeated_images": repeated,
        "frames": program.frames.tolist(),
    }
    return program.info["normalisation"]


def best_by_fit(
    bench: Any, programs: Sequence[OpticalProgram], digital_features: np.ndarray, images: np.ndarray,
) -> tuple[OpticalProgram, list[float]]:
    """Fit every candidate program on the same calibration images; the one whose camera features follow the
    digital ones best (highest mean per-channel correlation), and every candidate's mean correlation.

    For choices the compiler cannot make without measuring (e.g. the double-phase square size, which
    depends on the SLM's fringing).
    """
    scores = []
    for program in programs:
        fit = fit_normalisation(bench, program, digital_features, images)
        scores.append(float(np.mean(fit["correlation"])))
    return programs[int(np.argmax(scores))], scores


def normalised_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two arrays (flattened); 0 when either is constant."""
    a = np.asarray(a, dtype=np.float64).reshape(-1) - np.mean(a)
    b = np.asarray(b, dtype=np.float64).reshape(-1) - np.mean(b)
    norm = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
    return float(np.sum(a * b) / norm) if norm > 0 else 0.0
