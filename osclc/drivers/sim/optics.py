"""The one optical model of the simulated 4f bench, shared by the simulated input modulator, SLM and camera.

Sampling. The 4f is computed on the SLM's pixel grid (Q_r x Q_c, both even): one DFT bin per SLM
pixel. The input plane is therefore sampled at ``d = wavelength * f1 / (Q * p_slm)`` per axis (the
window ``Q * d = wavelength * f1 / p_slm`` is the period of the SLM pixel grid's diffraction orders)
and the output plane at ``d * f2 / f1``. A modulator pixel (pitch ``p_in``, fill factor 1) is a square of
``m = p_in / d`` samples per axis (any real m): its field is never rendered on the samples, lens 1 gives the exact
Fourier transform of the pixelated input at the SLM pixels (below), so the image is the modulator's image, band-limited
by the SLM window. Light outside the first diffraction-order window of the SLM pixel grid is not modelled (the output
is periodic with the window: a modulator wider than the window wraps around).

Coordinates. Samples are points; sample ``k`` (centred index ``Q//2 + k``) lies on the optical axis for
``k = 0``. The modulator's centre (the corner between its pixels ``N/2 - 1`` and ``N/2`` for even N) lies
half a sample before the axis sample: pixel ``i`` is centred on the sample position ``y = m (i + 0.5 - N/2) - 0.5``
(for ``m = 1``, pixel ``N//2`` is centred on the axis sample). The DC bin is SLM pixel ``Q//2``; a
camera pixel ``r`` integrates the output samples of ``[(r - R/2) p, (r - R/2 + 1) p)`` (p samples per
camera pixel, registration aside). Rotations act on (row, col) vectors as ``[[cos t, -sin t], [sin t, cos t]]``.
The camera truth affine maps modulator pixel centres to where their image's centroid lands.

Lens 1 and the Fourier-plane misalignment (the hidden ``fourier_offset_px`` o, ``fourier_scale`` and
``fourier_rotation_rad``: A = scale R(theta), on the SLM side, where it physically is): SLM pixel k (centred) receives
``U(A^-1 (k - o)) / scale`` (1/scale keeps the power) with the transform of the pixelated input
``U(nu) = Pix(nu) sum_n a_n exp(-2i pi sum_ax nu_ax y_n,ax / Q_ax)``, a_n the amplitude and y_n the centre of modulator
pixel n (samples), ``Pix(nu) = m_r m_c sinc(m_r nu_r / Q_r) sinc(m_c nu_c / Q_c)`` (``np.sinc``) that of one pixel:
``Pix(0) = m_r m_c`` samples, the photometry of a pixel covering m^2 samples of amplitude a_n. The sum over the
pixels is a pair of chirp-z transforms of the N x N pixel array (positions y0 + m t, any m; the offset is exactly
a phase ramp on the pixels; rotation adds one FFT shear of the pixel rows, made exact but for ~1e-7 by splitting
the row frequencies into bands, see :class:`osclc.drivers.sim.lens.Lens1`). Lens 2 transforms the field on the SLM grid, so the input
sample y images at the output sample ``x = -A^-T y`` (in window fractions): magnification ``-f2 / (f1 scale)``,
rotated by theta. ``SimTruth.fourier_affine`` (bin b -> ``Q/2 + o + A s b``) and ``SimTruth.camera_affine`` are
these maps by construction.

Pipeline of one frame (all in centred order, so no fftshift is needed: for even Q the shifts fold into a
checkerboard sign on the input, and ``F(F(.))`` of lens 1 then lens 2 gives the inverted image):

1. input: device values -> pixel amplitudes a_n (quantised to the modulator's bits; ``sqrt`` for intensity
   encoding; finite contrast and non-linearity: :mod:`osclc.drivers.sim.input_response`); lens 1: ``U(A^-1 (k - o)) / scale`` above on every SLM pixel; the stored ``spectrum`` is the field on
   the SLM times the checkerboard ``sgn = (-1)**(row + col)`` (a sign lens 2 undoes), cached until the input changes;
2. SLM: ``T = (z + (1 - z) exp(i blur(phi(g)))) exp(i W)`` with the hidden LUT ``phi``, fringing blur, zero
   order ``z`` and cover-glass wavefront ``W`` (:mod:`osclc.drivers.physics.slm_response`, the model calibration
   measures; cached until the pattern changes), and what it does not model: any crosstalk kernel shape, a LUT that
   varies across the panel, flicker (a new T per frame), the pixel aperture's envelope
   (:mod:`osclc.drivers.sim.panel`);
3. lens 2: ``b = F(U T) / (Q_r Q_c)``; intensity ``|b|^2`` (times the aperture envelope);
4. camera: the pixels sample the intensity (block sums for integer binning, else a box filter and bilinear sampling
   with the registration affine) or, with ``simulation.pixel_integration``, integrate it over their area exactly
   (:mod:`osclc.drivers.sim.pixel_integration`); photons from the laser power (drifting:
   :mod:`osclc.drivers.sim.light`), throughput, exposure and QE, plus stray light; then the sensor
   (:mod:`osclc.drivers.sim.sensor`): PRNU, dark current, shot and read noise, DSNU, full well, gain, dark level,
   bit depth, dead and hot pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft

from osclc.drivers.backends import BenchShared
from osclc.drivers.bench_config import BenchConfig, ImperfectionsConfig
from osclc.drivers.clock import Clock, make_clock
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.laser import Laser
from osclc.drivers.sim.input_response import modulator_amplitude
from osclc.drivers.sim.lens import Lens1, rotation
from osclc.drivers.sim.light import drift_factor, stray_light_profile
from osclc.drivers.sim.panel import SimulatedPanel, aperture_envelope
from osclc.drivers.sim.pixel_integration import PixelIntegrator
from osclc.drivers.sim.sensor import SimulatedSensor
from osclc.drivers.slm import gray_dtype

PLANCK_J_S = 6.62607015e-34
LIGHT_SPEED_M_S = 299792458.0


@dataclass(frozen=True)
class SimTruth:
    """The hidden imperfections of a simulated bench, for tests (calibration code never reads it).

    ``phase_lut_rad[g]``: phase (rad) of gray level g; ``wavefront_rad``: cover-glass phase (rad) on the SLM grid;
    ``fourier_affine``: 2x3, frequency bin (row, col) of the P-padded input grid, relative to DC -> SLM pixel
    index (row, col); ``camera_affine``: 2x3, input-modulator pixel index (row, col) -> camera pixel index
    (row, col) of the image's centroid; ``dead_pixels`` / ``hot_pixels``: boolean sensor maps;
    ``zero_order`` and ``fringing_px`` as configured; ``imperfections``: the config they came from; the effects the
    calibration does not model: ``crosstalk_kernel`` (1-D, :mod:`osclc.drivers.physics.crosstalk`; None without
    fringing), ``lut_gamma_map`` / ``phase_range_map_rad`` (per SLM pixel; None when the LUT is uniform),
    ``gain_map`` (PRNU) and ``offset_map_e`` (DSNU, electrons) per camera pixel (None when off).
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
    crosstalk_kernel: np.ndarray | None
    lut_gamma_map: np.ndarray | None
    phase_range_map_rad: np.ndarray | None
    gain_map: np.ndarray | None
    offset_map_e: np.ndarray | None


class SimulatedBench:
    """Optical state shared by the simulated devices of one bench (see the module doc for the model).

    The devices call :meth:`set_input` (modulator), :meth:`set_slm` (SLM), :meth:`frame` (camera);
    ``laser`` is the bench's laser device (None: the configured power is always on); ``clock`` the bench clock (None:
    a virtual clock of its own, refused with a laser drift, which needs the bench's); ``start_ns`` its time when this
    object was created (the bench opened): the laser drift counts from there.
    """

    def __init__(self, config: BenchConfig, clock: Clock | None = None) -> None:
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
        self.laser: Laser | None = None
        if clock is None and imp.laser_drift_per_s:
            raise InvalidSetting("simulation.imperfections.laser_drift_per_s: the drift follows the bench clock; open the "
                                 "bench with open_bench (or pass its clock) or set laser_drift_per_s: 0")
        self.clock = make_clock("virtual") if clock is None else clock
        self.start_ns = self.clock.now_ns()
        self._prepare_input_geometry(imp)
        self.panel = SimulatedPanel(config, self.real_dtype, self.complex_dtype)
        self.phase_lut_rad, self.wavefront_rad = self.panel.phase_lut_rad, self.panel.wavefront_rad
        self.sensor = SimulatedSensor(config.camera, sim, self.real_dtype)
        self._prepare_camera(imp)
        self.truth = self._make_truth(imp)
        self.spectrum: np.ndarray | None = None
        self.transmittance = self.panel.show(np.zeros(self.q, gray_dtype(config.slm.bit_depth)))
        self.set_input(np.zeros(config.input.shape, np.float32), "amplitude", config.input.bit_depth)

    # ------------------------------------------------------------------ geometry

    def _prepare_input_geometry(self, imp: ImperfectionsConfig) -> None:
        m = (self.config.input.pitch_m / self.d_m[0], self.config.input.pitch_m / self.d_m[1])
        quarter = round(imp.fourier_rotation_rad / (math.pi / 2))
        if quarter % 2 and self.q[0] != self.q[1]:
            raise InvalidSetting(f"simulation.imperfections.fourier_rotation_rad {imp.fourier_rotation_rad}: rotations beyond "
                                 f"45 degrees need a square SLM grid, slm.shape is {self.q}; use |rotation| <= pi/4")
        self._lens1 = Lens1(self.q, m, self.config.input.shape, imp.fourier_scale, imp.fourier_rotation_rad,
                             np.asarray(imp.fourier_offset_px, dtype=np.float64), self.complex_dtype, self.workers)

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
        # the SLM pixel aperture's intensity envelope on the output samples (x from the axis), per axis
        self._envelope: tuple[np.ndarray, np.ndarray] | None = None
        fine: tuple[np.ndarray, np.ndarray] | None = None
        if imp.pixel_fill_factor < 1.0:
            self._envelope = tuple(aperture_envelope(imp.pixel_fill_factor, self.q[ax], np.arange(self.q[ax]) - self.q[ax] // 2)
                                   for ax in (0, 1))  # type: ignore[assignment]
            fine = tuple(aperture_envelope(imp.pixel_fill_factor, self.q[ax], (np.arange(2 * self.q[ax]) - self.q[ax]) / 2) ** 2
                         for ax in (0, 1))  # type: ignore[assignment]
        self._integrator = PixelIntegrator(self.q, g_inv, centre, cam.shape, fine, self.real_dtype, self.complex_dtype,
                                           self.workers) if self.config.simulation.pixel_integration else None
        self._stray: np.ndarray | None = stray_light_profile(cam.shape[1], imp.stray_light_tilt).astype(self.real_dtype) if imp.stray_light > 0 else None

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
        panel, sensor = self.panel, self.sensor
        return SimTruth(imp, self.phase_lut_rad.copy(), self.wavefront_rad.copy(), fourier, camera,
                        sensor.dead.copy(), sensor.hot.copy(), imp.zero_order, imp.fringing_px,
                        *(None if v is None else v.copy() for v in (panel.kernel, panel.lut_gamma_map, panel.phase_range_map_rad,
                                                                     sensor.gain_map, sensor.offset_map_e)))

    # ------------------------------------------------------------------ state changes

    def set_input(self, values: np.ndarray, encoding: str, bit_depth: int) -> None:
        """Show device values in [0, 1] (quantised to ``bit_depth``) and compute the lens-1 spectrum."""
        imp = self.config.simulation.imperfections
        amplitude = modulator_amplitude(values, encoding, bit_depth, imp.input_gamma, imp.input_extinction)
        self.spectrum = self._lens1(amplitude.astype(self.real_dtype, copy=False))

    def set_slm(self, gray: np.ndarray) -> None:
        """Display integer gray levels on the SLM grid: computes the complex transmittance (without flicker)."""
        self.transmittance = self.panel.show(np.asarray(gray))

    # ------------------------------------------------------------------ output

    def output_field(self) -> np.ndarray:
        """Complex field on the output plane (centred order, index Q//2 = axis, sampled at ``out_d_m``); with
        a unit transmittance it is the inverted input image band-limited by the SLM window (inside a uniformly lit
        pixel area |field|^2 = amplitude^2 per sample, up to the ringing of the band limit), times the SLM pixel
        aperture's envelope (``pixel_fill_factor``); without flicker."""
        sign = np.outer(np.where(np.arange(self.q[0]) % 2, -1.0, 1.0), np.where(np.arange(self.q[1]) % 2, -1.0, 1.0))
        out = scipy.fft.fft2(self.spectrum * self.transmittance, workers=self.workers, overwrite_x=True)
        out = out * (sign / (self.q[0] * self.q[1]))
        if self._envelope is not None:
            out *= np.outer(*self._envelope)
        return out

    def intensity(self) -> np.ndarray:
        """(Q_r Q_c)^2 |output field|^2 per output sample (centred order; the FFT normalisation is left out), without
        flicker."""
        return self._intensity(self.transmittance)

    def _intensity(self, transmittance: np.ndarray) -> np.ndarray:
        out = scipy.fft.fft2(self.spectrum * transmittance, workers=self.workers, overwrite_x=True)
        power = np.square(out.real)
        power += np.square(out.imag)
        if self._envelope is not None:
            power *= np.square(self._envelope[0])[:, None]
            power *= np.square(self._envelope[1])[None, :]
        return power

    def photons_per_unit(self, exposure_s: float) -> float:
        """Photons per output sample for |field|^2 = 1 during an exposure of ``exposure_s`` starting now (laser on at
        its power, drift included: the power at mid-exposure)."""
        cfg = self.config
        power_w = self.power_w(0.5 * exposure_s)
        sample_area = self.d_m[0] * self.d_m[1]
        modulator_area = cfg.input.shape[0] * cfg.input.shape[1] * cfg.input.pitch_m ** 2
        photon_j = PLANCK_J_S * LIGHT_SPEED_M_S / cfg.optics.wavelength_m
        return power_w * cfg.simulation.throughput * sample_area / modulator_area * exposure_s / photon_j

    def power_w(self, delay_s: float = 0.0) -> float:
        """Optical power leaving the laser ``delay_s`` seconds from now (W): 0 while emission is off; the set power
        times the drift (:func:`osclc.drivers.sim.light.drift_factor`) since this bench opened."""
        if self.laser is None:
            power = self.config.laser.power_mw * 1e-3
        else:
            status = self.laser.status()
            power = status.power_mw * 1e-3 if status.emission else 0.0
        rate = self.config.simulation.imperfections.laser_drift_per_s
        if rate:
            power *= drift_factor(rate, (self.clock.now_ns() - self.start_ns) * 1e-9 + delay_s)
        return power

    def expected_electrons(self, exposure_s: float) -> np.ndarray:
        """Mean electrons per camera pixel (sensor shape) of an exposure of ``exposure_s`` (s) starting now: the
        image, stray light, PRNU and dark current; before noise, DSNU, saturation and flicker."""
        return self._electrons(exposure_s, self.transmittance)

    def _electrons(self, exposure_s: float, transmittance: np.ndarray) -> np.ndarray:
        cam, imp = self.config.camera, self.config.simulation.imperfections
        per_sample = self.photons_per_unit(exposure_s) * cam.quantum_efficiency  # electrons per output sample, |field|^2 = 1
        scale = per_sample / float(self.q[0] * self.q[1]) ** 2
        if self._integrator is not None:
            image = self._integrator(self.spectrum * transmittance)
        elif self._binning is not None:
            image = self._bin(self._intensity(transmittance))
        else:
            intensity = self._intensity(transmittance)
            kr, kc = self._box
            if kr > 1 or kc > 1:
                intensity = cv2.boxFilter(intensity, -1, (kc, kr), normalize=False, borderType=cv2.BORDER_CONSTANT)
                scale *= self._pixel_area_samples / (kr * kc)
            else:
                scale *= self._pixel_area_samples
            image = cv2.warpAffine(intensity, self._warp, (cam.shape[1], cam.shape[0]),
                                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        image *= scale
        if self._stray is not None:
            image += self._stray * (imp.stray_light * per_sample * self._pixel_area_samples)
        return self.sensor.collect(image, exposure_s)

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
        """A full-sensor camera image of an exposure of ``exposure_s`` (s) starting now, ``gain`` counts per electron:
        counts (uint8/uint16 when quantising, else float32); with flicker the SLM's transmittance of this frame."""
        transmittance = self.panel.flickered(exposure_s) if self.panel.flickers else self.transmittance
        return self.sensor.read(self._electrons(exposure_s, transmittance), gain)


def shared_simulation(shared: BenchShared) -> SimulatedBench:
    """The :class:`SimulatedBench` of a bench (``BenchShared``), created on first use."""
    sim = shared.extras.get("simulation")
    if sim is None:
        sim = SimulatedBench(shared.config, shared.clock)
        shared.extras["simulation"] = sim
    return sim
