"""Executing an optical program on an open bench, synchronously: prepare, display, expose, capture, read out.

:func:`run_image` is the simplest correct execution (show the input, for each pattern display it if it
is not already on the SLM, set the camera to that pattern's exposure if it is not already, capture, read
out); the pipelined loop (``osclc.lab``) overlaps these stages with the same calls. Putting a pattern on the
SLM is :func:`display_pattern`'s alone: the program's gray levels go to the driver as they are, which checks
them and converts them to the SLM's dtype once. Choosing the exposures and fitting the feature normalisation
are the compiler's (:mod:`osclc.calibration.compiler.exposure`, :mod:`osclc.calibration.compiler.normalisation`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from osclc.calibration.program import OpticalProgram, ProgramError
from osclc.calibration.protocols import OpenBench
from osclc.drivers.camera import Camera, Frame


def apply_exposure(camera: Camera, program: OpticalProgram, pattern: int) -> float:
    """Set ``camera`` to pattern ``pattern``'s exposure unless it is already there (no device call then); returns it (s).

    Capture timeouts count from the end of the exposure: callers wait ``timeout + exposure`` for the frame, so a
    long exposure of a dim pattern is not taken for a lost frame.
    """
    wanted = float(program.exposure_s[pattern])
    if camera.exposure_s != wanted:
        camera.exposure_s = wanted
    return wanted


def prepare(bench: OpenBench, program: OpticalProgram) -> None:
    """Check the program fits ``bench`` (shapes), emission on, first pattern displayed at its exposure."""
    if tuple(bench.slm.shape) != tuple(program.patterns.shape[1:]):
        raise ProgramError(f"program patterns are {program.patterns.shape[1:]} but the SLM is {bench.slm.shape}; recompile")
    if tuple(bench.camera.shape) != program.camera_shape:
        raise ProgramError(f"program reads a {program.camera_shape} camera but the bench camera gives {bench.camera.shape} frames")
    if tuple(bench.input.shape) != program.input_shape:
        raise ProgramError(f"program places inputs on a {program.input_shape} modulator but the bench has {bench.input.shape}")
    if not bench.laser.status().emission:
        bench.laser.set_emission(True)
    display_pattern(bench, program, 0)
    apply_exposure(bench.camera, program, 0)


def display_pattern(bench: OpenBench, program: OpticalProgram, pattern: int, always: bool = False) -> int | None:
    """Show ``program.patterns[pattern]`` on the SLM unless it is what the SLM already shows (``always``: show it
    anyway, as the loop does when it cycles several patterns, so that every frame waits each switch the latency
    budget counts); returns the time (ns, bench clock) the pattern had settled, None when it was already shown."""
    shown = bench.slm.displayed
    wanted = program.patterns[pattern]
    if not always and shown is not None and shown.shape == wanted.shape and np.array_equal(shown, wanted):
        return None
    return bench.slm.display(wanted)


def capture_pattern(camera: Camera, program: OpticalProgram, pattern: int, timeout_s: float) -> tuple[np.ndarray, list[Frame]]:
    """The camera image of pattern ``pattern`` (already displayed): the mean of its ``program.frames[pattern]``
    captures at its exposure (float64 counts), and the captured frames (for their timestamps).

    Each capture waits ``timeout_s`` beyond its exposure.
    """
    exposure = apply_exposure(camera, program, pattern)
    taken = [camera.capture(timeout_s=timeout_s + exposure) for _ in range(int(program.frames[pattern]))]
    if len(taken) == 1:
        return taken[0].image.astype(np.float64), taken
    return np.mean([frame.image for frame in taken], axis=0, dtype=np.float64), taken


def capture_frames(bench: OpenBench, program: OpticalProgram, image: np.ndarray, timeout_s: float | None = None) -> np.ndarray:
    """Camera images [n_patterns, rows, cols] (float64, each the mean of its pattern's frames) of ``image`` [C_in, N, N]
    (amplitude in [0, 1]; or [B, C_in, N, N], B <= ``program.images_per_frame``, tiled in one frame); each capture
    waits ``timeout_s`` (default the bench config's) beyond its exposure."""
    timeout = bench.config.timeout_s if timeout_s is None else timeout_s
    image = np.asarray(image)
    bench.input.show(program.batch_canvas(image) if image.ndim == 4 else program.input_canvas(image))
    frames = np.empty((program.patterns.shape[0], *program.camera_shape))
    for p in range(program.patterns.shape[0]):
        display_pattern(bench, program, p)
        frames[p] = capture_pattern(bench.camera, program, p, timeout)[0]
    return frames


def run_image(bench: OpenBench, program: OpticalProgram, image: np.ndarray) -> np.ndarray:
    """Features [C_out, h, w] of one image (call :func:`prepare` once first)."""
    return program.readout(capture_frames(bench, program, image))


def run_frame(bench: OpenBench, program: OpticalProgram, images: np.ndarray) -> np.ndarray:
    """Features [B, C_out, h, w] of ``images`` [B, C_in, N, N] (B <= ``program.images_per_frame``) shown together in
    one frame, each read from its own camera windows (call :func:`prepare` once first)."""
    images = np.asarray(images)
    return program.readout(capture_frames(bench, program, images), image=None)[: len(images)]


def run_batch(
    bench: OpenBench, program: OpticalProgram, images: np.ndarray, progress: Callable[[int], object] | None = None,
) -> np.ndarray:
    """Features [B, C_out, h, w] of ``images`` [B, C_in, N, N], pattern-major (each mask displayed once), in frames of
    ``program.images_per_frame`` images (the last one may hold fewer).

    For evaluation on many images: the SLM (and the exposure) changes ``n_patterns`` times instead of per image.
    ``progress`` (optional) is called with the number of captures done after each one.
    """
    images = np.asarray(images)
    timeout = bench.config.timeout_s
    per_frame = program.images_per_frame
    out = np.empty((len(images), program.out_channels, *program.out_size))
    done = 0
    for p, channels in enumerate(program.pattern_channels):
        display_pattern(bench, program, p)
        for start in range(0, len(images), per_frame):
            batch = images[start : start + per_frame]
            bench.input.show(program.batch_canvas(batch))
            frame = capture_pattern(bench.camera, program, p, timeout)[0]
            out[start : start + len(batch), channels] = program.readout_channels(p, frame, image=None)[: len(batch)]
            done += 1
            if progress is not None:
                progress(done)
    return out
