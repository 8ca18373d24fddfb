"""Driving an open bench for calibration: show an input and an SLM pattern, capture, count and time.

Everything a calibration knows about the bench comes through :class:`BenchProbe`, which uses the
device interfaces only (``bench.input.show``, ``bench.slm.display``, ``bench.camera.capture``,
``bench.laser``), so the same code calibrates a simulated and a real bench. Once the dark frame
and gain are known, :meth:`BenchProbe.frame` returns dark-subtracted, gain-corrected images with
hot and dead pixels replaced by the median of their neighbours.
"""

from __future__ import annotations

import contextlib
import time
from typing import Iterator

import numpy as np
from scipy import ndimage
from osclc.calibration.protocols import OpenBench
from osclc.calibration.record import optical_centre


class BenchProbe:
    """Calibration access to an open ``bench`` (e.g. :class:`osclc.drivers.bench.Bench`); counts captures per stage."""

    def __init__(self, bench: OpenBench) -> None:
        self.bench = bench
        self.captures = 0
        self.stats: dict[str, dict[str, float]] = {}
        self.dark_frame: np.ndarray | None = None
        self.dark_per_s: np.ndarray | None = None
        self.dark_exposure_s = float(bench.camera.exposure_s)
        self.gain_frame: np.ndarray | None = None
        self._bad_index: tuple | None = None
        self.bad_pixels = np.zeros(bench.camera.shape, bool)

    # ------------------------------------------------------------------ bookkeeping

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Record the captures and wall-clock seconds of the block under ``stats[name]``."""
        start_captures, start = self.captures, time.perf_counter()
        try:
            yield
        finally:
            self.stats[name] = {"captures": self.captures - start_captures, "seconds": time.perf_counter() - start}

    def use_corrections(self, dark: np.ndarray, dark_per_s: np.ndarray, dark_exposure_s: float, gain: np.ndarray,
                        bad_pixels: np.ndarray) -> None:
        """Correct frames with a known dark frame, gain and bad-pixel mask (from an earlier record)."""
        self.dark_frame, self.dark_per_s, self.dark_exposure_s = dark, dark_per_s, float(dark_exposure_s)
        self.gain_frame = gain
        self.bad_pixels = bad_pixels

    # ------------------------------------------------------------------ devices

    @property
    def slm_shape(self) -> tuple[int, int]:
        """SLM (rows, cols)."""
        return self.bench.slm.shape

    @property
    def input_shape(self) -> tuple[int, int]:
        """Input modulator (rows, cols)."""
        return self.bench.input.shape

    def emission(self, on: bool) -> None:
        """Laser emission on or off."""
        self.bench.laser.set_emission(on)

    def show(self, amplitude: np.ndarray | None = None, gray: np.ndarray | None = None) -> None:
        """Show ``amplitude`` on the input modulator and/or ``gray`` levels on the SLM (None leaves a device as it is)."""
        if amplitude is not None:
            self.bench.input.show(amplitude)
        if gray is not None:
            self.bench.slm.display(np.asarray(gray).astype(self.bench.slm.dtype, copy=False))

    def raw(self, average: int = 1) -> np.ndarray:
        """Mean of ``average`` captured frames (float64 counts, nothing corrected)."""
        camera = self.bench.camera
        if not camera.acquiring:
            camera.start()
        total = np.zeros(camera.shape, np.float64)
        for _ in range(average):
            total += camera.capture(timeout_s=self.bench.config.timeout_s + camera.exposure_s).image
            self.captures += 1
        return total / average

    def frame(self, average: int = 1) -> np.ndarray:
        """Mean of ``average`` frames, dark-subtracted and divided by the gain, bad pixels filled (counts)."""
        image = self.raw(average)
        if self.dark_frame is not None:
            image = image - (self.dark_frame + self.dark_per_s * (self.bench.camera.exposure_s - self.dark_exposure_s))
        if self.gain_frame is not None:
            image = image / self.gain_frame
        if self._bad_index is not None:
            rows, cols, neighbours = self._bad_index
            image[rows, cols] = np.median(image[neighbours[0], neighbours[1]], axis=0)
        return image

    @property
    def bad_pixels(self) -> np.ndarray:
        """Boolean camera map of hot and dead pixels (replaced by their neighbours' median in :meth:`frame`)."""
        return self._bad

    @bad_pixels.setter
    def bad_pixels(self, mask: np.ndarray) -> None:
        self._bad = np.asarray(mask, bool)
        rows, cols = np.nonzero(self._bad)
        if rows.size == 0:
            self._bad_index = None
            return
        shape = self._bad.shape
        offsets = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
        neighbour_rows = np.stack([np.clip(rows + dr, 0, shape[0] - 1) for dr, _ in offsets])
        neighbour_cols = np.stack([np.clip(cols + dc, 0, shape[1] - 1) for _, dc in offsets])
        self._bad_index = (rows, cols, (neighbour_rows, neighbour_cols))

    def autoexpose(self, target: float = 0.5, tries: int = 8, points: np.ndarray | None = None, slow_s: float = 0.01) -> float:
        """Set the exposure so the brightest (good) pixel reads ``target`` of full scale; returns the exposure (s).

        With ``points`` ([n, 2] camera (row, col)), only the values at those points count (other spots may
        saturate). A saturated frame divides the exposure by 10. Exposures longer than ``slow_s`` are
        shortened by raising the laser power first (never above the bench's ``max_power_mw``); below the
        camera's shortest exposure the laser power is lowered instead. :meth:`restore_power` undoes it.
        """
        camera, laser = self.bench.camera, self.bench.laser
        lo, hi = camera.exposure_range_s
        hi = min(hi, 0.25 * self.bench.config.timeout_s)  # a frame must arrive within the capture timeout
        offset = 0.0 if self.dark_frame is None else float(np.median(self.dark_frame))
        full = camera.max_count - offset
        for _ in range(tries):
            image = self.frame()
            if points is None:
                peak = float(np.max(np.where(self.bad_pixels, 0.0, image)))
            else:
                peak = float(np.max(ndimage.map_coordinates(image, np.asarray(points, dtype=np.float64).T, order=1)))
            factor = 10.0 if peak <= 0 else (0.1 if peak >= 0.98 * full else target * full / peak)
            if abs(factor - 1.0) < 0.15:
                break
            wanted = camera.exposure_s * factor
            power = laser.power_mw()
            if wanted > slow_s and power < laser.max_power_mw:
                boost = min(wanted / slow_s, laser.max_power_mw / power)
                laser.set_power_mw(power * boost)
                wanted /= boost
            elif wanted < lo:
                laser.set_power_mw(power * wanted / lo)
                wanted = lo
            camera.exposure_s = float(np.clip(wanted, lo, hi))
        return float(camera.exposure_s)

    def restore_power(self) -> None:
        """Set the laser back to the bench config's ``laser.power_mw``."""
        self.bench.laser.set_power_mw(self.bench.config.laser.power_mw)

    # ------------------------------------------------------------------ test images

    def blob(self, center: np.ndarray | None = None, sigma_px: float = 1.5) -> np.ndarray:
        """Input amplitude: a Gaussian spot of ``sigma_px`` input pixels at ``center`` (default the optical axis)."""
        rows, cols = self.input_shape
        center = optical_centre(self.input_shape) if center is None else np.asarray(center, dtype=np.float64)
        rr, cc = np.indices((rows, cols), dtype=np.float64)
        return np.exp(-((rr - center[0]) ** 2 + (cc - center[1]) ** 2) / (2 * sigma_px**2))

    def spot_radius(self, sigma_px: float) -> float:
        """Camera window radius (pixels) holding the image of a Gaussian input spot of ``sigma_px`` input pixels
        (3.5 sigma at the nominal magnification, plus a pixel and a half for blur)."""
        return 3.5 * sigma_px * float(self.bench.config.camera_scale()) + 1.5

    def uniform(self) -> np.ndarray:
        """Input amplitude 1 everywhere."""
        return np.ones(self.input_shape)

    def flat_gray(self) -> np.ndarray:
        """SLM gray levels all 0."""
        return np.zeros(self.slm_shape, np.int64)
