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
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from scipy import ndimage

from osclc.calibration.measure.fitting import MAD_TO_SIGMA
from osclc.calibration.protocols import OpenBench
from osclc.calibration.record import optical_centre


@dataclass(frozen=True)
class Exposure:
    """What one exposure control ended with (counts above the dark level): the ``peak`` it measured at the final
    setting, the ``target`` it aimed at, the ``full`` scale, the frame ``noise`` (counts rms), the ``light`` it saw (the
    brightest 3 x 3 median, so a hot pixel is not light), and how the signal grew with the light at the last
    increase of exposure x power by 2x or more (``linearity``: the log-log slope, 1 for a linear camera, near 0 when
    the signal is clipped below full scale; 1 when the light never had to grow)."""

    peak: float
    target: float
    full: float
    noise: float
    light: float
    linearity: float


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
        self.dark_noise: float | None = None
        self.exposures: list[Exposure] = []

    # ------------------------------------------------------------------ bookkeeping

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Record the captures and wall-clock seconds of the block under ``stats[name]``; :attr:`exposures` then holds
        the block's exposure controls."""
        start_captures, start = self.captures, time.perf_counter()
        self.exposures = []
        try:
            yield
        finally:
            self.stats[name] = {"captures": self.captures - start_captures, "seconds": time.perf_counter() - start}

    def use_corrections(self, dark: np.ndarray, dark_per_s: np.ndarray, dark_exposure_s: float, gain: np.ndarray,
                        bad_pixels: np.ndarray, dark_noise: float | None = None) -> None:
        """Correct frames with a known dark frame, gain and bad-pixel mask (from an earlier record); ``dark_noise``:
        the frame noise (counts rms) measured with them."""
        self.dark_frame, self.dark_per_s, self.dark_exposure_s = dark, dark_per_s, float(dark_exposure_s)
        self.gain_frame = gain
        self.bad_pixels = bad_pixels
        self.dark_noise = dark_noise

    def noise(self, image: np.ndarray) -> float:
        """Noise of one frame (counts rms): the dark frames' when measured, else estimated from ``image`` (the median
        absolute deviation of its difference from its 3 x 3 median, which ignores the image's own structure); at least
        0.3 counts (a quantisation step), so a noise-free simulation still has a finite signal-to-noise ratio."""
        if self.dark_noise is not None:
            return max(self.dark_noise, 0.3)
        detail = image - ndimage.median_filter(image, size=3)
        return max(MAD_TO_SIGMA * float(np.median(np.abs(detail - np.median(detail)))) * 1.5, 0.3)

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
        What it ended with is appended to :attr:`exposures` (:class:`Exposure`, for the quality gates).
        """
        camera, laser = self.bench.camera, self.bench.laser
        lo, hi = camera.exposure_range_s
        hi = min(hi, 0.25 * self.bench.config.timeout_s)  # a frame must arrive within the capture timeout
        offset = 0.0 if self.dark_frame is None else float(np.median(self.dark_frame))
        full = camera.max_count - offset
        history: list[tuple[float, float]] = []  # (exposure x power, peak) of every frame looked at
        image = self.frame()
        for attempt in range(tries + 1):
            if points is None:
                peak = float(np.max(np.where(self.bad_pixels, 0.0, image)))
            else:
                peak = float(np.max(ndimage.map_coordinates(image, np.asarray(points, dtype=np.float64).T, order=1)))
            power = laser.power_mw()
            history.append((camera.exposure_s * power, peak))
            factor = 10.0 if peak <= 0 else (0.1 if peak >= 0.98 * full else target * full / peak)
            if abs(factor - 1.0) < 0.15 or attempt == tries:
                break
            wanted = camera.exposure_s * factor
            if wanted > slow_s and 0 < power < laser.max_power_mw:
                boost = min(wanted / slow_s, laser.max_power_mw / power)
                laser.set_power_mw(power * boost)
                wanted /= boost
            elif wanted < lo and power > 0:
                laser.set_power_mw(power * wanted / lo)
                wanted = lo
            camera.exposure_s = float(np.clip(wanted, lo, hi))
            image = self.frame()
        self.exposures.append(Exposure(peak=peak, target=target * full, full=full, noise=self.noise(image),
                                       light=float(np.max(ndimage.uniform_filter(np.where(self.bad_pixels, 0.0, image), size=3))),
                                       linearity=_linearity(history)))
        return float(camera.exposure_s)

    def restore_power(self) -> None:
        """Set the laser back to the bench config's ``laser.power_mw``."""
        self.bench.laser.set_power_mw(self.bench.config.laser.power_mw)

    def nominal_camera_scale(self) -> float:
        """Nominal magnification of the config optics (camera pixels per input-modulator pixel): ``p_in f2 / (f1 p_cam)``."""
        return float(self.bench.config.camera_scale())

    def nominal_far_field_px(self) -> float:
        """Nominal far-field scale of the config optics (camera pixels per cycle per SLM pixel of a blaze):
        ``wavelength * f2 / (p_slm * p_cam)``, i.e. ``P * s * m`` (pad, Fourier scale, camera scale)."""
        config = self.bench.config
        return config.optics.pad * config.fourier_scale() * config.camera_scale()

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


def _linearity(history: list[tuple[float, float]]) -> float:
    """Log-log slope of peak against exposure x power over the last step that at least doubled the light (1.0 when
    none did; 0 when the peak stayed at or below 0)."""
    for (light_a, peak_a), (light_b, peak_b) in zip(history[-2::-1], history[:0:-1]):
        if light_b >= 2 * light_a > 0:
            if peak_a <= 0 or peak_b <= 0:
                return 0.0
            return float(np.log(peak_b / peak_a) / np.log(light_b / light_a))
    return 1.0
