"""The bench in impulse-input mode, seen by slmsuite as a FourierSLM (its camera + SLM pair).

With a small spot on the input modulator, lens 1 lights the whole SLM with a plane wave and the
camera sees the SLM's far field: slmsuite's FourierSLM geometry. :class:`ImpulseCamera` presents the
bench camera (dark-subtracted, gain-corrected frames of :class:`BenchProbe`) as a slmsuite camera,
:class:`BenchSLM` our SLM as a slmsuite SLM (slmsuite's phase -> gray conversion, then our driver),
so slmsuite's calibrations run unchanged on a simulated or a real bench.

Coordinates: slmsuite uses ``(x, y)`` = ``(col, row)`` vectors and normalised k-space
``kxy = wavelength / period``; the conversions to our ``(row, col)`` pixel conventions are here.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="cupy is not installed")  # slmsuite runs on numpy here
    from slmsuite.hardware.cameras.camera import Camera as SlmsuiteCamera
    from slmsuite.hardware.cameraslms import FourierSLM
    from slmsuite.hardware.slms.slm import SLM as SlmsuiteSLM

from osclc.calibration.measure import fitting
from osclc.calibration.measure.fourier_geometry import FarFieldMap
from osclc.calibration.lut import phase_to_gray
from osclc.calibration.measure.patterns import blaze
from osclc.calibration.measure.probe import BenchProbe


class ImpulseCamera(SlmsuiteCamera):
    """The bench camera as a slmsuite camera (float frames: dark-subtracted and gain-corrected)."""

    def __init__(self, probe: BenchProbe) -> None:
        camera = probe.bench.camera
        rows, cols = camera.shape
        pitch_um = camera.pitch_m * 1e6
        self.probe = probe
        super().__init__((cols, rows), bitdepth=camera.bit_depth, pitch_um=(pitch_um, pitch_um),
                         name=f"osclc-{camera.name}", exposure_bounds_s=camera.exposure_range_s)

    def _get_image_hw(self, timeout_s: float) -> np.ndarray:
        return np.clip(self.probe.frame(), 0.0, None)

    def _get_exposure_hw(self) -> float:
        return float(self.probe.bench.camera.exposure_s)

    def _set_exposure_hw(self, exposure_s: float) -> None:
        self.probe.bench.camera.exposure_s = float(exposure_s)

    def close(self) -> None:
        """Nothing to release: the bench owns the camera."""

    def flush(self, timeout_s: float = 1) -> None:
        """Frames are software-triggered: nothing is queued."""


class BenchSLM(SlmsuiteSLM):
    """Our SLM as a slmsuite SLM: slmsuite's integer display values go to ``bench.slm.display``."""

    def __init__(self, probe: BenchProbe, wavelength_m: float) -> None:
        slm = probe.bench.slm
        rows, cols = slm.shape
        pitch_um = slm.pitch_m * 1e6
        self.probe = probe
        super().__init__((cols, rows), bitdepth=slm.bit_depth, name=f"osclc-{slm.name}", wav_um=wavelength_m * 1e6,
                         pitch_um=(pitch_um, pitch_um), settle_time_s=0.0)

    def _set_phase_hw(self, display: np.ndarray) -> None:
        self.probe.show(gray=np.asarray(display))

    def close(self) -> None:
        """Nothing to release: the bench owns the SLM."""


def fourier_slm(probe: BenchProbe, wavelength_m: float) -> FourierSLM:
    """slmsuite FourierSLM over the bench (the input modulator must already show a point)."""
    return FourierSLM(ImpulseCamera(probe), BenchSLM(probe, wavelength_m))


def far_field_map_slmsuite(
    probe: BenchProbe, lut: np.ndarray, wavelength_m: float, frequency: float = 0.125, spot_sigma_px: float = 1.0,
    array_shape: int = 9, array_pitch: int = 12,
) -> FarFieldMap:
    """The far-field map ``G`` from slmsuite's ``fourier_calibrate`` (one capture of a spot array), with the
    orientation its square-array fit cannot tell (rotations by 90 degrees, flips, and slmsuite's
    opposite phase sign) fixed by two blazes of ``frequency`` cycles/pixel located by centroid."""
    probe.emission(True)
    probe.show(amplitude=probe.blob(sigma_px=spot_sigma_px), gray=probe.flat_gray())
    probe.autoexpose(target=0.5)
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # slmsuite logs every device it creates and each fit's quality
    rng_state = np.random.get_state()
    np.random.seed(0)  # slmsuite's hologram starts from np.random phases: same calibration every run
    try:
        calibration = fourier_slm(probe, wavelength_m).fourier_calibrate(
            array_shape=[array_shape, array_shape], array_pitch=[array_pitch, array_pitch], plot=0, verbose=False)
    finally:
        np.random.set_state(rng_state)
        logging.disable(previous)
    g, origin = kxy_affine_to_rowcol(calibration, wavelength_m, probe.bench.slm.pitch_m)
    radius = probe.spot_radius(spot_sigma_px)
    frequencies = np.array([(frequency, 0.0), (0.0, frequency)])
    positions = []
    for f in frequencies:
        probe.show(gray=phase_to_gray(blaze(probe.slm_shape, f), lut))
        image = probe.frame()
        positions.append(fitting.refine_centroid(image, fitting.peak(image, exclude=[(origin, radius)]), radius))
    positions = np.array(positions)
    candidates = [g @ np.array(t, dtype=np.float64) for t in _SYMMETRIES]
    errors = [float(np.sum((origin + frequencies @ c.T - positions) ** 2)) for c in candidates]
    best = candidates[int(np.argmin(errors))]
    rms = float(np.sqrt(min(errors) / len(frequencies)))
    return FarFieldMap(g=best, origin=origin, rms_px=rms, frequencies=frequencies, positions=positions)


# The eight signed permutations of (row, col): the orientations a square spot array looks the same in.
_SYMMETRIES = [((a, 0), (0, b)) for a in (1, -1) for b in (1, -1)] + [((0, a), (b, 0)) for a in (1, -1) for b in (1, -1)]


def kxy_affine_to_rowcol(calibration: dict, wavelength_m: float, slm_pitch_m: float) -> tuple[np.ndarray, np.ndarray]:
    """From slmsuite's ``calibrations["fourier"]`` (kxy -> camera ij, ``ij = M (kxy - a) + b``) to
    ``G`` (2x2: SLM spatial frequency (row, col) in cycles per SLM pixel -> camera (row, col) pixels)
    and the zeroth order's camera position (row, col). slmsuite writes gray levels for minus the
    phase (its ``_phase2gray`` scales by a negative factor), so on our SLM its ``G`` comes out with
    the opposite sign; :func:`far_field_map_slmsuite` settles that with the orientation."""
    m = np.array(calibration["M"], dtype=np.float64)
    b = np.array(calibration["b"], dtype=np.float64).reshape(2)
    a = np.array(calibration["a"], dtype=np.float64).reshape(2)
    swap = np.array([[0.0, 1.0], [1.0, 0.0]])  # (x, y) <-> (row, col)
    g = swap @ m @ swap * (wavelength_m / slm_pitch_m)
    zero_xy = b - m @ a
    return g, swap @ zero_xy
