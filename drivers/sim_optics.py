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

Fourier-plane misalignment (the hidden ``fourier_offset_px`` o, ``fourier_scale`` and ``fourier_rotation_rad``:
A = scale R(theta)) lives on the SLM side, where it physically is: the input is rendered exactly (nearest pixel,
no A) and SLM pixel k (centred) receives the lens-1 spectrum at ``nu = A^-1 (k - o)``: ``U(nu) / scale`` with
``U(nu) = sum_y u(y) exp(-2i pi sum_ax nu_ax y_ax / Q_ax)`` the DFT of the rendered input u evaluated off the grid
(the offset is exactly a phase ramp on u; scale and rotation by chirp-z transforms and one FFT shear, see
:class:`_MisalignedLens1`; 1/scale keeps the power). Lens 2 transforms the field on the SLM grid, so the input
sample y images at the output sample ``x = -A^-T y`` (in window fractions): magnification ``-f2 / (f1 scale)``,
rotated by theta. ``SimTruth.fourier_affine`` (bin b -> ``Q/2 + o + A s b``) and ``SimTruth.camera_affine`` are
these maps by construction.

Pipeline of one frame (all in centred order, so no fftshift is needed: for even Q the shifts fold into a
checkerboard sign on the input, and ``F(F(.))`` of lens 1 then lens 2 gives the inverted image):

1. input: device values -> field amplitude (quantised to the modulator's bits; ``sqrt`` for intensity encoding),
   rendered on the sample grid (nearest modulator pixel) times the offset's phase ramp; lens 1: ``U = F(sgn * u)``
   with the checkerboard sign ``sgn = (-1)**(row + col)`` when A = 1, else the off-grid DFT above; the stored
   ``spectrum`` is the field on the SLM times ``sgn`` (a sign lens 2 undoes), cached until the input changes;
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


class _ScaledDFT:
    """Chirp-z (Bluestein) DFT along one axis at scaled frequencies, exact up to rounding:
    ``X[k] = post[k] * sum_t x[t] exp(-2i pi ratio k y_t / q)`` for the centred frequencies ``k = -q//2 .. q - q//2 - 1``
    and the consecutive centred sample positions ``y_t`` (ints) of the input."""

    def __init__(self, y: np.ndarray, q: int, ratio: float, post: np.ndarray, dtype: type, workers: int) -> None:
        n = y.size
        self.n, self.q, self.workers = n, q, workers
        self.length = scipy.fft.next_fast_len(n + q - 1)
        c = ratio / q
        t = np.arange(n, dtype=np.float64)
        j = np.arange(q, dtype=np.float64)
        k0, y0 = float(-(q // 2)), float(y[0])
        # r k y = r (k0 + j)(y0 + t) with j t = (j^2 + t^2 - (j - t)^2) / 2: a convolution in j - t
        self.pre = np.exp(-2j * np.pi * c * (k0 * t + t * t / 2)).astype(dtype)
        self.post = (post * np.exp(-2j * np.pi * c * (k0 * y0 + j * y0 + j * j / 2))).astype(dtype)
        m = np.arange(-(n - 1), q, dtype=np.float64)
        chirp = np.zeros(self.length, np.complex128)
        chirp[:m.size] = np.exp(1j * np.pi * c * m * m)
        self.kernel = scipy.fft.fft(chirp).astype(dtype)

    def __call__(self, x: np.ndarray, axis: int, pre: np.ndarray | None = None, post: bool = True) -> np.ndarray:
        """The scaled DFT of ``x`` along ``axis`` (n samples -> q frequencies); ``pre`` (an array of x's shape
        that includes the input chirp) replaces the input chirp; ``post=False`` leaves the output chirp to the caller."""
        line = (slice(None), None) if axis == 0 else (None, slice(None))
        shape = (self.length, x.shape[1]) if axis == 0 else (x.shape[0], self.length)
        padded = np.zeros(shape, self.kernel.dtype)
        head = padded[:self.n] if axis == 0 else padded[:, :self.n]
        np.multiply(x, self.pre[line] if pre is None else pre, out=head)
        spectrum = scipy.fft.fft(padded, axis=axis, workers=self.workers, overwrite_x=True)
        spectrum *= self.kernel[line]
        out = scipy.fft.ifft(spectrum, axis=axis, workers=self.workers, overwrite_x=True)
        out = out[self.n - 1:self.n - 1 + self.q] if axis == 0 else out[:, self.n - 1:self.n - 1 + self.q]
        return out * self.post[line] if post else out


class _MisalignedLens1:
    """Lens 1 with the spectrum scaled by ``scale`` and rotated by ``theta`` (rad) on the SLM (A = scale R(theta)).

    Called with the rendered input field u inside ``box`` (centred order, offset ramp applied; zero outside), it returns
    ``sgn(k) U(A^-1 k) / scale`` on the SLM pixels k (centred; ``sgn`` the checkerboard of the stored spectrum), U the
    DFT of u, ``U(nu) = sum_y u(y) exp(-2i pi nu . Y)`` with ``Y = y / Q`` (window fractions). Since
    ``(A^-1 k) . Y = k . (A^-T Y)`` and ``A^-T = R(theta) / scale = S0(-t) D S1(t)`` (shears ``S0(a): Y0 += a Y1``,
    ``S1(a): Y1 += a Y0``, ``t = tan(theta)``, ``D = diag(1 / cos, cos) / scale``), each input row is shifted by S1(t)
    (a sub-sample shift through its FFT: the one approximate step, it band-limits the row), then
    ``k . S0(-t) D W = k0 D0 W0 + (k1 - t k0) D1 W1`` is summed exactly: a chirp-z transform along the columns at
    the frequencies ``D0 k0``, a phase ``exp(2i pi t k0 D1 W1)``, a chirp-z transform along the rows at ``D1 k1``.
    Without rotation the chirp-z transforms alone are exact. Accuracy against the exact sums (random input):
    ~1e-4 of the field inside the input grid's Nyquist band for |theta| <= 0.1 rad (1e-6 for smooth inputs and mrad
    angles); beyond that band (the SLM edges, reached when scale < 1 or by rotated corners) the shear gives the
    band-limited continuation of the spectrum instead of its periodic copy. ``theta`` is within +-pi/4; ``quarter``
    more quarter turns (0 .. 3, square grids) are exact index permutations of the result.
    """

    def __init__(self, q: tuple[int, int], scale: float, theta: float, box: tuple[np.ndarray, np.ndarray],
                 sign: list[np.ndarray], dtype: type, workers: int, quarter: int = 0) -> None:
        self.q, self.dtype, self.workers, self.quarter = q, dtype, workers, quarter
        self.box = tuple(slice(int(b[0]), int(b[1]) + 1) for b in box)
        y = [np.arange(q[ax], dtype=np.float64) - q[ax] // 2 for ax in (0, 1)]
        t, c = math.tan(theta), math.cos(theta)
        ratio = (1.0 / (c * scale), c / scale)
        self.shear: np.ndarray | None = None
        cols = y[1][self.box[1]]
        self.rows = _ScaledDFT(y[0][self.box[0]], q[0], ratio[0], sign[0] / scale, dtype, workers)
        if theta != 0.0:
            # S1(t) in samples: row y0 moves by t (Q1 / Q0) y0 along axis 1: its DFT (any sample origin) times
            # exp(-2i pi f shift / Q1) for the signed frequencies f; the Nyquist bin gets cos(pi shift)
            shift = t * q[1] / q[0] * y[0][self.box[0]]
            freq = scipy.fft.fftfreq(q[1], 1.0 / q[1])
            shear = np.exp(-2j * np.pi * np.outer(shift, freq) / q[1])
            shear[:, q[1] // 2] = np.cos(np.pi * shift)
            self.shear = shear.astype(dtype)
            cols = y[1]
        self.columns = _ScaledDFT(cols, q[1], ratio[1], sign[1], dtype, workers)
        # between the two transforms: the rows' output chirp, the coupling phase exp(2i pi t k0 D1 W1), the
        # columns' input chirp, as one array
        coupling = np.exp(2j * np.pi * t * ratio[1] * np.outer(y[0], cols) / q[1])
        self.between = (self.rows.post[:, None] * coupling * self.columns.pre[None, :]).astype(dtype)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        """The stored lens-1 spectrum (SLM grid) of the rendered input ``block`` (the samples inside ``box``)."""
        if self.shear is not None:
            row = np.zeros((block.shape[0], self.q[1]), self.dtype)
            row[:, self.box[1]] = block
            spectrum = scipy.fft.fft(row, axis=1, workers=self.workers, overwrite_x=True)
            spectrum *= self.shear
            block = scipy.fft.ifft(spectrum, axis=1, workers=self.workers, overwrite_x=True)
        spectrum = self.columns(self.rows(block, 0, post=False), 1, self.between)
        # R(-quarter pi/2) k with k centred: index Q/2 + k <- Q/2 - k is a flip and a roll by one (periodic DFT)
        if self.quarter == 1:  # out[k0, k1] = F[k1, -k0]
            spectrum = np.roll(spectrum.T[::-1], 1, axis=0)
        elif self.quarter == 2:  # out[k] = F[-k]
            spectrum = np.roll(spectrum[::-1, ::-1], (1, 1), axis=(0, 1))
        elif self.quarter == 3:  # out[k0, k1] = F[-k1, k0]
            spectrum = np.roll(spectrum.T[:, ::-1], 1, axis=1)
        return np.ascontiguousarray(spectrum)


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
        k = [np.arange(self.q[ax], dtype=np.float64) - self.q[ax] // 2 for ax in (0, 1)]
        self._sign = [np.where(np.arange(self.q[ax]) % 2, -1.0, 1.0) for ax in (0, 1)]
        idx = []
        for ax in (0, 1):  # nearest modulator pixel of each sample (no misalignment: the input is rendered exactly)
            i = np.floor((k[ax] + 0.5) * self.d_m[ax] / p_in + n[ax] / 2 + 1e-9).astype(np.int64)
            valid = np.flatnonzero((i >= 0) & (i < n[ax]))
            idx.append((valid, i[valid]))
        self._rows, self._cols = idx
        a = imp.fourier_scale * rotation(imp.fourier_rotation_rad)
        # spectrum offset o: the input sample y gets the phase exp(2i pi (A^-1 o) . (y / Q)) (exact for any o)
        shift = np.linalg.solve(a, np.asarray(imp.fourier_offset_px, dtype=np.float64))
        ramp = [np.exp(2j * np.pi * shift[ax] * k[ax] / self.q[ax]) for ax in (0, 1)]
        misaligned = imp.fourier_scale != 1.0 or imp.fourier_rotation_rad != 0.0
        if not misaligned:  # lens 1 is a plain FFT of the checkerboard-signed field
            ramp = [self._sign[0] * ramp[0], self._sign[1] * ramp[1]]
        # phase factors of the rendered samples (rows[0] x cols[0] of the sample grid)
        self._row_factor = ramp[0][self._rows[0]].astype(self.complex_dtype)[:, None]
        self._col_factor = ramp[1][self._cols[0]].astype(self.complex_dtype)[None, :]
        self._lens1: _MisalignedLens1 | None = None
        if misaligned:
            quarter = round(imp.fourier_rotation_rad / (math.pi / 2))
            if quarter % 2 and self.q[0] != self.q[1]:
                raise InvalidSetting(f"simulation.imperfections.fourier_rotation_rad {imp.fourier_rotation_rad}: rotations beyond "
                                     f"45 degrees need a square SLM grid, slm.shape is {self.q}; use |rotation| <= pi/4")
            box = (self._rows[0][[0, -1]], self._cols[0][[0, -1]])  # never empty: the axis sample shows pixel N//2
            self._lens1 = _MisalignedLens1(self.q, imp.fourier_scale, imp.fourier_rotation_rad - quarter * math.pi / 2,
                                           box, self._sign, self.complex_dtype, self.workers, quarter % 4)

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
        # input pixel i -> its centre in input samples y = D (i + 0.5 - N/2) - 0.5, D = diag(p_in / d); lens 1 puts
        # U(A^-1 k) on SLM pixel k and lens 2 transforms that on the SLM grid, so sample y images at the output sample
        # x = -W y, W = A^-T in window fractions (y_ax / Q_ax): W = diag(Q) A^-T diag(1/Q) in samples;
        # camera index c = R/2 + off + G (x + 0.5) - 0.5
        n = np.array(cfg.input.shape, dtype=np.float64)
        d = np.diag([cfg.input.pitch_m / self.d_m[0], cfg.input.pitch_m / self.d_m[1]])
        q = np.array(self.q, dtype=np.float64)
        w = np.diag(q) @ np.linalg.inv(a).T @ np.diag(1.0 / q)
        lin = -self._g @ w @ d
        const = np.array(cfg.camera.shape) / 2 + self._cam_offset + self._g @ (0.5 - w @ (d @ (0.5 - n / 2) - 0.5)) - 0.5
        camera = np.concatenate([lin, const[:, None]], axis=1)
        return SimTruth(imp, self.phase_lut_rad.copy(), self.wavefront_rad.copy(), fourier, camera,
                        self.dead.copy(), self.hot.copy(), imp.zero_order, imp.fringing_px)

    # ------------------------------------------------------------------ state changes

    def set_input(self, values: np.ndarray, encoding: str, bit_depth: int) -> None:
        """Show device values in [0, 1] (quantised to ``bit_depth``) and compute the lens-1 spectrum."""
        levels = (1 << bit_depth) - 1
        q = np.rint(np.asarray(values, dtype=np.float64) * levels) / levels
        amplitude = q if encoding == "amplitude" else np.sqrt(q)
        (tr, sr), (tc, sc) = self._rows, self._cols
        block = amplitude.astype(self.real_dtype, copy=False).take(sr, axis=0).take(sc, axis=1) * self._row_factor
        block *= self._col_factor
        if self._lens1 is not None:
            self.spectrum = self._lens1(block)
            return
        field = np.zeros(self.q, self.complex_dtype)
        if tr.size and tc.size:
            field[tr[0]:tr[-1] + 1, tc[0]:tc[-1] + 1] = block
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
