"""The simulated camera sensor: mean electrons per pixel -> counts (EMVA 1288's linear camera model).

1. :meth:`SimulatedSensor.collect`: the light's electrons times the per-pixel gain ``1 + prnu * n`` (photo-response
   non-uniformity, a fixed pattern, n standard normal, clipped at 0), plus the dark current
   ``camera.dark_current_e_per_s * exposure`` (thermal electrons, the same in every pixel): the mean signal.
2. :meth:`SimulatedSensor.read`: shot noise on that mean (light and dark current alike; ``simulation.noise``), dead
   pixels to 0, the full well (``simulation.quantize``), read noise (``camera.read_noise_e``) and the offset
   ``dsnu_e * n'`` (dark-signal non-uniformity, a fixed pattern of electrons), gain (counts per electron), the dark
   level, hot pixels at full scale, then rounding and clipping to the bit depth (``simulation.quantize``).

Dead / hot pixel positions and the PRNU and DSNU patterns come from ``simulation.imperfections.seed`` (each its own
stream), the noise from ``simulation.seed``.
"""

from __future__ import annotations

import numpy as np

from osclc.drivers.bench_config import CameraConfig, SimulationConfig


class SimulatedSensor:
    """The sensor of a simulated camera (module doc); ``dead`` / ``hot`` are its boolean defect maps, ``gain_map`` its
    PRNU (None without) and ``offset_map_e`` its DSNU (electrons; None without)."""

    def __init__(self, camera: CameraConfig, simulation: SimulationConfig, real_dtype: type) -> None:
        imp = simulation.imperfections
        self.camera = camera
        self.noise, self.quantize = simulation.noise, simulation.quantize
        draw = np.random.default_rng(imp.seed).random(camera.shape)
        self.dead = draw < imp.dead_pixel_fraction
        self.hot = (draw >= imp.dead_pixel_fraction) & (draw < imp.dead_pixel_fraction + imp.hot_pixel_fraction)
        self._dead_index, self._hot_index = np.flatnonzero(self.dead), np.flatnonzero(self.hot)
        self.gain_map: np.ndarray | None = None
        self.offset_map_e: np.ndarray | None = None
        if imp.prnu > 0:
            spread = np.random.default_rng([imp.seed, 1]).standard_normal(camera.shape)
            self.gain_map = np.maximum(1.0 + imp.prnu * spread, 0.0).astype(real_dtype)
        if imp.dsnu_e > 0:
            self.offset_map_e = (imp.dsnu_e * np.random.default_rng([imp.seed, 2]).standard_normal(camera.shape)).astype(real_dtype)
        self.rng = np.random.default_rng(simulation.seed)

    def collect(self, light_e: np.ndarray, exposure_s: float) -> np.ndarray:
        """Mean electrons per pixel (in place on ``light_e``, the light's mean photo-electrons): PRNU, dark current
        over ``exposure_s`` (s)."""
        if self.gain_map is not None:
            light_e *= self.gain_map
        if self.camera.dark_current_e_per_s > 0:
            light_e += self.camera.dark_current_e_per_s * exposure_s
        return light_e

    def read(self, electrons: np.ndarray, gain: float) -> np.ndarray:
        """A frame from the mean electrons per pixel (consumed): counts, uint8/uint16 when quantising, else float32;
        ``gain`` in counts per electron."""
        cam = self.camera
        if self.noise:
            electrons = self._shot_noise(electrons)
        electrons.flat[self._dead_index] = 0.0
        if self.quantize:
            np.minimum(electrons, cam.full_well_e, out=electrons)
        if self.noise and cam.read_noise_e > 0:
            electrons += self.rng.standard_normal(electrons.shape, dtype=np.float32).astype(electrons.dtype) * cam.read_noise_e
        if self.offset_map_e is not None:
            electrons += self.offset_map_e
        counts = electrons * gain + cam.dark_level
        full = float((1 << cam.bit_depth) - 1)
        counts.flat[self._hot_index] = full
        if not self.quantize:
            return counts.astype(np.float32, copy=False)
        np.rint(counts, out=counts)
        np.clip(counts, 0.0, full, out=counts)
        return counts.astype(np.uint8 if cam.bit_depth <= 8 else np.uint16)

    def _shot_noise(self, electrons: np.ndarray) -> np.ndarray:
        """Poisson photo-electrons, drawn fast by mean: below 0.05 e- as one Poisson process (a Poisson total
        spread over the pixels in proportion to their means: exact, and cheap because few events happen),
        up to 10 e- by numpy's Poisson, above by the Gaussian sqrt(N) approximation (skewness 1/sqrt(N) <= 0.32 left out)."""
        flat = np.maximum(electrons, 0.0).ravel()
        tiny = flat < 0.05
        rates = np.where(tiny, flat, 0.0)
        cumulative = np.cumsum(rates, dtype=np.float64)
        events = int(self.rng.poisson(cumulative[-1])) if cumulative.size else 0
        hits = np.searchsorted(cumulative, self.rng.random(events) * cumulative[-1], side="right") if events else np.empty(0, np.int64)
        noisy = np.where(tiny, np.bincount(np.minimum(hits, flat.size - 1), minlength=flat.size).astype(flat.dtype), flat)
        mid = np.flatnonzero(~tiny & (flat < 10.0))
        noisy[mid] = self.rng.poisson(flat[mid])
        big = np.flatnonzero(flat >= 10.0)
        noisy[big] += np.sqrt(flat[big]) * self.rng.standard_normal(big.shape, dtype=np.float32)
        np.maximum(noisy, 0.0, out=noisy)
        return noisy.reshape(electrons.shape)
