"""The one optical model of the simulated 4f bench, shared by the simulated input modulator, SLM and camera.

Sampling. The 4f is computed on the SLM's pixel grid (Q_r x Q_c, both even): one DFT bin per SLM
pixel. The input plane is therefore sampled at ``d = wavelength * f1 / (Q * p_slm)`` per axis (the
window ``Q * d = wavelength * f1 / p_slm`` is the period of the SLM pixel grid's diffraction orders)
and the output plane at ``d * f2 / f1``. A modulator pixel (pitch ``p_in``) covers ``m = p_in / d``
samples per axis; the pixelated input field is rendered by nearest-pixel lookup (exact for integer
``m``). Light outside the first diffraction-order window of the SLM pixel grid is not modelled.

Coordinates. Samples are points; sample ``k`` (centred index ``Q//2 + k``) lies on the optical axis for
``k = 0``. The modulator's centre (the corner between its pixels ``N/2 - 1`` and ``N/2`` for even N) lies
half a sample before the axis sample, so a modulator pixel renders onto the samples inside it
symmetrically (for ``m = 1``, pixel ``N//2`` is the axis sample). The DC bin is SLM pixel ``Q//2``; a
camera pixel ``r`` integrates the output samples of ``[(r - R/2) p, (r - R/2 + 1) p)`` (p samples per
camera pixel, registration aside). Rotations act on (row, col) vectors as ``[[cos t, -sin t], [sin t, cos t]]``.
The camera truth affine maps modulator pixel centres to where their image's centroid lands.

Pipeline of one frame (all in centred order, so no fftshift is needed: for even Q the shifts fold into a
checkerboard sign on the input, and ``F(F(.))`` of lens 1 then lens 2 gives the inverted image):

1. input: device values -> field amplitude (quantised to the modulator's bits; ``sqrt`` for intensity encoding),
   rendered on the sample grid with the Fourier-plane misalignment applied in the conjugate domain
   (spectrum offset o -> linear phase, rotation/scale A -> input sampled at ``A^T y``); lens 1: ``U = F(sgn * u)``
   with the checkerboard sign ``sgn = (-1)**(row + col)``
   (cached until the input changes);
2. SLM: ``T = (z + (1 - z) exp(i blur(phi(g)))) exp(i W)`` with the hidden LUT ``phi``, fringing blur, zero
   order ``z`` and cover-glass wavefront ``W`` (cached until the pattern changes);
3. lens 2: ``b = F(U T) / (Q_r Q_c)``; intensity ``|b|^2``;
4. camera: pixel integration (block sums for integer binning, else a box filter and bilinear sampling
   with the registration affine), photons from the laser power, throughput, exposure and QE, gain,
   dark level, shot and read noise, full well, bit depth, dead and hot pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import scipy.fft

from osclc.drivers.bench_config import BenchConfig, ImperfectionsConfig
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.zernike import wavefront_map

PLANCK_J_S = 6.62607015e-34
LIGHT_SPEED_M_S = 299792458.0


def rotation(theta: float) -> np.ndarray:
    """2x2 rotation acting on (row, col) vectors (rad)."""
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


@dataclass(frozen=True)
class SimTruth:
    """The hidden imperfections of a simulated bench, for tests (calibration code never reads it).

    ``phase_lut_rad[g]``: phase (rad) of gray level g; ``wavefront_rad``: cover-glass phase (rad) on the SLM grid;
    ``fourier_affine``: 2x3, frequency bin (row, col) of the P-padded input grid, relative to DC -> SLM pixel
    index (row, col); ``camera_affine``: 2x3, input-modulator pixel index (row, col) -> camera pixel index
    (row, col) of the image's centroid; ``dead_pixels`` / ``hot_pixels``: boolean sensor maps;
    ``zero_order`` and ``fringing_px`` as configured; ``imperfections``: the config they came from.
    """

    imperfections: ImperfectionsConfig
    phase_lut_rad: np.ndarray
    wavefront_rad: np.ndarray
    fourier_affine: np.ndarray
    camera_affine: np.ndarray
    dead_pixels: np.ndarray
    hot_pixels: np.ndarray
    zero_order: float
    fringing_px: float


def phase_lut(bit_depth: int, imperfections: ImperfectionsConfig) -> np.ndarray:
    """phi(g) = phase_range_rad * (g / 2**bits)**gamma for every gray level g (rad)."""
    g = np.arange(1 << bit_depth, dtype=np.float64) / (1 << bit_depth)
    return imperfections.phase_range_rad * g ** imperfections.lut_gamma


def fringing_kernel(sigma_px: float) -> np.ndarray:
    """Normalised 1-D Gaussian of sigma ``sigma_px`` (SLM pixels), truncated at ceil(4 sigma): the fringing blur."""
    radius = max(1, math.ceil(4 * sigma_px))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-x ** 2 / (2 * sigma_px ** 2))
    return kernel / kernel.sum()


class SimulatedBench:
    """Optical state shared by the simulated devices of one bench (see the module doc for the model).

    The devices call :meth:`set_input` (modulator), :meth:`set_slm` (SLM), :meth:`frame` (camera);
    ``laser`` is the bench's laser device (None: the configured power is always on).
    """

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        sim = config.simulation
        imp = sim.imperfections
        self.q = config.slm.shape
        if self.q[0] % 2 or self.q[1] % 2:
            raise InvalidSetting(f"slm.shape {self.q}: the simulated SLM needs even sizes (the model uses centred FFTs); use e.g. 256 or 512")
        self.real_dtype = np.float32 if sim.precision == "single" else np.float64
        self.complex_dtype = np.complex64 if sim.precision == "single" else np.complex128
        self.workers = sim.fft_workers
        opt = config.optics
        self.window_m = opt.wavelength_m * opt.f1_m / config.slm.pitch_m
        self.d_m = (self.window_m / self.q[0], self.window_m / self.q[1])
        self.out_d_m = (self.d_m[0] * opt.f2_m / opt.f1_m, self.d_m[1] * opt.f2_m / opt.f1_m)
        self.laser: Any = None
        self.rng = np.random.default_rng(sim.seed)
        self._prepare_input_geometry(imp)
        self._prepare_slm(imp)
        self._prepare_camera(imp)
        self.truth = self._make_truth(imp)
        self.spectrum: np.ndarray | None = None
        self.transmittance = self._transmittance(np.zeros(self.q, np.uint8 if config.slm.bit_depth <= 8 else np.uint16))
        self.set_input(np.zeros(config.input.shape, np.float32), "amplitude", config.input.bit_depth)

    # ------------------------------------------------------------------ geometry

    def _prepare_input_geometry(self, imp: ImperfectionsConfig) -> None:
        n = self.config.input.shape
        p_in = self.config.input.pitch_m
        a_t = imp.fourier_scale * rotation(-imp.fourier_rotation_rad)  # A^T with A = scale * R(theta)
        self._amplitude_gain = imp.fourier_scale  # sqrt(det A): the spectrum keeps its power
        k = [np.arange(self.q[ax], dtype=np.float64) - self.q[ax] // 2 for ax in (0, 1)]
        sign = [np.where(np.arange(self.q[ax]) % 2, -1.0, 1.0) for ax in (0, 1)]
        ramp = [np.exp(2j * np.pi * imp.fourier_offset_px[ax] * k[ax] / self.q[ax]) for ax in (0, 1)]
        self._row_factor = (sign[0] * ramp[0] * self._amplitude_gain)
        self._col_factor = (sign[1] * ramp[1])
        if imp.fourier_rotation_rad == 0.0:
            self._separable = True
            idx = []
            for ax in (0, 1):
                u = a_t[ax, ax] * (k[ax] + 0.5) * self.d_m[ax] / p_in + n[ax] / 2
                i = np.floor(u + 1e-9).astype(np.int64)
                valid = np.flatnonzero((i >= 0) & (i < n[ax]))
                idx.append((valid, i[valid]))
            self._rows, self._cols = idx
        else:
            self._separable = False
            y = (k[0][:, None] + 0.5) * self.d_m[0]
            x = (k[1][None, :] + 0.5) * self.d_m[1]
            u_r = np.floor((a_t[0, 0] * y + a_t[0, 1] * x) / p_in + n[0] / 2 + 1e-9).astype(np.int64)
            u_c = np.floor((a_t[1, 0] * y + a_t[1, 1] * x) / p_in + n[1] / 2 + 1e-9).astype(np.int64)
            valid = (u_r >= 0) & (u_r < n[0]) & (u_c >= 0) & (u_c < n[1])
            self._flat_target = np.flatnonzero(valid)
            self._flat_source = (u_r * n[1] + u_c).ravel()[self._flat_target]
            self._flat_factor = (self._row_factor[:, None] * self._col_factor[None, :]).ravel()[self._flat_target].astype(self.complex_dtype)

    def _prepare_slm(self, imp: ImperfectionsConfig) -> None:
        self.phase_lut_rad = phase_lut(self.config.slm.bit_depth, imp)
        self.wavefront_rad = wavefront_map(self.q, imp.zernike_rad)
        self._cover = np.exp(1j * self.wavefront_rad).astype(self.complex_dtype) if imp.zernike_rad else None

    def _prepare_camera(self, imp: ImperfectionsConfig) -> None:
        cam = self.config.camera
        self.sensor_shape = cam.shape
        # G: camera pixels per output sample (a 2x2 on (row, col)), camera index c = R/2 + off + G (x + 0.5) - 0.5
        scale = np.diag([self.out_d_m[0] / cam.pitch_m, self.out_d_m[1] / cam.pitch_m])
        self._g = imp.camera_magnification * rotation(imp.camera_rotation_rad) @ scale
        self._cam_offset = np.asarray(imp.camera_offset_px, dtype=np.float64)
        g_inv = np.linalg.inv(self._g)
        self._binning: tuple[int, int, int, int] | None = None
        if imp.camera_rotation_rad == 0.0:
            p = (g_inv[0, 0], g_inv[1, 1])
            # first sample of camera pixel 0: x(0) - (p - 1) / 2 with x(r) = p (r + 0.5 - R/2 - off) - 0.5
            starts = [p[ax] * (0.5 - cam.shape[ax] / 2 - self._cam_offset[ax]) - 0.5 - (p[ax] - 1) / 2 for ax in (0, 1)]
            if all(abs(v - round(v)) < 1e-6 and round(v) >= 1 for v in p) and all(abs(s - round(s)) < 1e-6 for s in starts):
                self._binning = (int(round(p[0])), int(round(p[1])), int(round(starts[0])), int(round(starts[1])))
        # general path: dst camera index (r, c) -> src centred intensity index, box kernel of the pixel footprint
        self._box = (max(1, int(round(math.hypot(g_inv[0, 0], g_inv[1, 0])))), max(1, int(round(math.hypot(g_inv[0, 1], g_inv[1, 1])))))
        self._pixel_area_samples = abs(float(np.linalg.det(g_inv)))
        centre = np.array([cam.shape[0] / 2, cam.shape[1] / 2]) + self._cam_offset
        # sample position of camera pixel c: x = G^-1 (c + 0.5 - centre) - 0.5 (from the axis); in the centred
        # intensity array that is index x + Q//2, and a box of size k anchored at k//2 averages around
        # index + k//2 - (k - 1)/2 less, so the warp reads the box-filtered array there
        shift = np.array([self.q[ax] // 2 + self._box[ax] // 2 - (self._box[ax] - 1) / 2 for ax in (0, 1)])
        off = g_inv @ (0.5 - centre) - 0.5 + shift
        # cv2 works on (x=col, y=row)
        self._warp = np.array([[g_inv[1, 1], g_inv[1, 0], off[1]], [g_inv[0, 1], g_inv[0, 0], off[0]]], dtype=np.float64)
        rng = np.random.default_rng(imp.seed)
        draw = rng.random(cam.shape)
        self.dead = draw < imp.dead_pixel_fraction
        self.hot = (draw >= imp.dead_pixel_fraction) & (draw < imp.dead_pixel_fraction + imp.hot_pixel_fraction)
        self._dead_index, self._hot_index = np.flatnonzero(self.dead), np.flatnonzero(self.hot)

    def _make_truth(self, imp: ImperfectionsConfig) -> SimTruth:
        cfg = self.config
        s = cfg.fourier_scale()
        a = imp.fourier_scale * rotation(imp.fourier_rotation_rad)
        fourier = np.zeros((2, 3))
        fourier[:, :2] = a * s
        fourier[:, 2] = np.array([self.q[0] // 2, self.q[1] // 2]) + np.asarray(imp.fourier_offset_px)
        # input index i -> samples x_in = H (i + 0.5 - N/2) - 0.5, H = A^-1 diag(p_in / d); x_out = -x_in;
        # camera index c = R/2 + off + G (x_out + 0.5) - 0.5
        n = np.array(cfg.input.shape, dtype=np.float64)
        h = np.linalg.inv(a) @ np.diag([cfg.input.pitch_m / self.d_m[0], cfg.input.pitch_m / self.d_m[1]])
        lin = -self._g @ h
        const = np.array(cfg.camera.shape) / 2 + self._cam_offset + self._g @ (1.0 - h @ (0.5 - n / 2)) - 0.5
        camera = np.concatenate([lin, const[:, None]], axis=1)
        return SimTruth(imp, self.phase_lut_rad.copy(), self.wavefront_rad.copy(), fourier, camera,
                        self.dead.copy(), self.hot.copy(), imp.zero_order, imp.fringing_px)

    # ------------------------------------------------------------------ state changes

    def set_input(self, values: np.ndarray, encoding: str, bit_depth: int) -> None:
        """Show device values in [0, 1] (quantised to ``bit_depth``) and compute the lens-1 spectrum."""
        levels = (1 << bit_depth) - 1
        q = np.rint(np.asarray(values, dtype=np.float64) * levels) / levels
        amplitude = q if encoding == "amplitude" else np.sqrt(q)
        field = np.zeros(self.q, self.complex_dtype)
        if self._separable:
            (tr, sr), (tc, sc) = self._rows, self._cols
            if tr.size and tc.size:
                block = amplitude[np.ix_(sr, sc)]
                field[tr[0]:tr[-1] + 1, tc[0]:tc[-1] + 1] = (self._row_factor[tr, None] * block) * self._col_factor[None, tc]
        else:
            field.ravel()[self._flat_target] = amplitude.ravel()[self._flat_source] * self._flat_factor
        self.spectrum = scipy.fft.fft2(field, workers=self.workers, overwrite_x=True)

    def _transmittance(self, gray: np.ndarray) -> np.ndarray:
        imp = self.config.simulation.imperfections
        lut = self.phase_lut_rad.astype(self.real_dtype)
        phase = cv2.LUT(gray, lut) if gray.dtype == np.uint8 and lut.dtype == np.float32 else lut[gray]
        if imp.fringing_px > 0:
            kernel = fringing_kernel(imp.fringing_px).astype(self.real_dtype)
            phase = cv2.sepFilter2D(phase, -1, kernel, kernel, borderType=cv2.BORDER_REPLICATE)
        t = np.empty(self.q, self.complex_dtype)
        np.cos(phase, out=t.real)
        np.sin(phase, out=t.imag)
        if imp.zero_order > 0:
            t *= 1.0 - imp.zero_order
            t += imp.zero_order
        if self._cover is not None:
            t *= self._cover
        return t

    def set_slm(self, gray: np.ndarray) -> None:
        """Display integer gray levels on the SLM grid: computes the complex transmittance."""
        self.transmittance = self._transmittance(np.asarray(gray))

    # ------------------------------------------------------------------ output

    def output_field(self) -> np.ndarray:
        """Complex field on the output plane (centred order, index Q//2 = axis, sampled at ``out_d_m``); with
        a unit transmittance it is the inverted rendered input, so |field|^2 = amplitude^2 per sample."""
        sign = np.outer(np.where(np.arange(self.q[0]) % 2, -1.0, 1.0), np.where(np.arange(self.q[1]) % 2, -1.0, 1.0))
        out = scipy.fft.fft2(self.spectrum * self.transmittance, workers=self.workers, overwrite_x=True)
        return out * (sign / (self.q[0] * self.q[1]))

    def intensity(self) -> np.ndarray:
        """(Q_r Q_c)^2 |output field|^2 per output sample (centred order; the FFT normalisation is left out)."""
        out = scipy.fft.fft2(self.spectrum * self.transmittance, workers=self.workers, overwrite_x=True)
        power = np.square(out.real)
        power += np.square(out.imag)
        return power

    def photons_per_unit(self, exposure_s: float) -> float:
        """Photons per output sample for |field|^2 = 1 during ``exposure_s`` (laser on at its power)."""
        cfg = self.config
        power_w = self.power_w()
        sample_area = self.d_m[0] * self.d_m[1]
        modulator_area = cfg.input.shape[0] * cfg.input.shape[1] * cfg.input.pitch_m ** 2
        photon_j = PLANCK_J_S * LIGHT_SPEED_M_S / cfg.optics.wavelength_m
        return power_w * cfg.simulation.throughput * sample_area / modulator_area * exposure_s / photon_j

    def power_w(self) -> float:
        """Optical power leaving the laser now (W): 0 while emission is off."""
        if self.laser is None:
            return self.config.laser.power_mw * 1e-3
        status = self.laser.status()
        return status.power_mw * 1e-3 if status.emission else 0.0

    def expected_electrons(self, exposure_s: float) -> np.ndarray:
        """Mean photo-electrons per camera pixel (sensor shape), before noise and saturation."""
        cam = self.config.camera
        scale = self.photons_per_unit(exposure_s) * cam.quantum_efficiency / float(self.q[0] * self.q[1]) ** 2
        intensity = self.intensity()
        if self._binning is not None:
            image = self._bin(intensity)
        else:
            kr, kc = self._box
            if kr > 1 or kc > 1:
                intensity = cv2.boxFilter(intensity, -1, (kc, kr), normalize=False, borderType=cv2.BORDER_CONSTANT)
                scale *= self._pixel_area_samples / (kr * kc)
            else:
                scale *= self._pixel_area_samples
            image = cv2.warpAffine(intensity, self._warp, (cam.shape[1], cam.shape[0]),
                                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        image *= scale
        return image

    def _bin(self, intensity: np.ndarray) -> np.ndarray:
        pr, pc, sr, sc = self._binning  # type: ignore[misc]
        rows, cols = self.sensor_shape
        r0, c0 = sr + self.q[0] // 2, sc + self.q[1] // 2
        r1, c1 = r0 + rows * pr, c0 + cols * pc
        if pr == pc == 1 and r0 >= 0 and c0 >= 0 and r1 <= self.q[0] and c1 <= self.q[1]:
            return intensity[r0:r1, c0:c1].copy()
        window = np.zeros((rows * pr, cols * pc), intensity.dtype)
        a0, b0 = max(r0, 0), max(c0, 0)
        a1, b1 = min(r1, self.q[0]), min(c1, self.q[1])
        if a1 > a0 and b1 > b0:
            window[a0 - r0:a1 - r0, b0 - c0:b1 - c0] = intensity[a0:a1, b0:b1]
        return window.reshape(rows, pr, cols, pc).sum(axis=(1, 3))

    def frame(self, exposure_s: float, gain: float) -> np.ndarray:
        """A full-sensor camera image: counts (uint8/uint16 when quantising, else float32)."""
        cam, sim = self.config.camera, self.config.simulation
        electrons = self.expected_electrons(exposure_s)
        if sim.noise:
            electrons = self._shot_noise(electrons)
        electrons.flat[self._dead_index] = 0.0
        if sim.quantize:
            np.minimum(electrons, cam.full_well_e, out=electrons)
        if sim.noise and cam.read_noise_e > 0:
            electrons += self.rng.standard_normal(electrons.shape, dtype=np.float32).astype(electrons.dtype) * cam.read_noise_e
        counts = electrons * gain + cam.dark_level
        full = float((1 << cam.bit_depth) - 1)
        counts.flat[self._hot_index] = full
        if not sim.quantize:
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


def shared_simulation(shared: Any) -> SimulatedBench:
    """The :class:`SimulatedBench` of a bench (``BenchShared``), created on first use."""
    sim = shared.extras.get("simulation")
    if sim is None:
        sim = SimulatedBench(shared.config)
        shared.extras["simulation"] = sim
    return sim
