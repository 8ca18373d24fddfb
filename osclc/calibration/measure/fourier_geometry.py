"""Fourier geometry: where each frequency bin of the input lands on the SLM (``fourier.affine``).

Two measurements, both through the drivers:

1. ``G`` (2x2), the far-field map: a blaze of spatial frequency ``f`` (cycles per SLM pixel) moves
   the image of an input spot by ``G @ f`` camera pixels. Measured with blazed gratings (through
   the measured LUT) in impulse mode, each spot located by its centroid, ``G`` by least squares.
   This is the map slmsuite's ``fourier_calibrate`` measures (kxy -> camera ij): the calibration
   uses it through :func:`osclc.calibration.measure.slmsuite_adapter.far_field_map_slmsuite` (one capture of
   a spot array, two blazes to fix the orientation its square-array fit cannot tell) and falls back
   to :func:`measure_far_field_map` (eight single blazes) when slmsuite's fit fails. ``G`` tells the
   other calibrations where light sent by a blaze lands on the camera.
2. The affine itself, by knife edges on the input's spectrum (slmsuite never needs the input's
   spectrum, so it has nothing for this). The input shows a Gaussian spot times
   ``(1 + cos(2 pi k0 . x / P)) / 2``: its spectrum on the SLM is three compact, symmetric blobs, at
   DC and at bins ``+-k0``. Around one blob, the SLM blazes the pixels of a box before a boundary
   one way and those after it another way (everything else flat); the boundary where the two
   deflected images carry the same power (each less its background and divided by its blaze's
   efficiency, both from frames with the whole box on one blaze) is the blob's
   centre along that axis, found to a fraction of a pixel from the crossing (after a coarse pass on
   a wide blob at DC that finds the optical axis however far it is from nominal). The centres of the
   blobs at ``+-k0`` for ``k0`` along rows and along columns give the affine by least squares.
   Measuring on the SLM itself keeps the affine independent of the camera registration and of how
   the input image is scaled onto the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from osclc.calibration.measure import fitting
from osclc.calibration.lut import phase_to_gray
from osclc.calibration.measure.patterns import blaze
from osclc.calibration.measure.probe import BenchProbe
from osclc.calibration.record import apply_affine, optical_centre


@dataclass
class FarFieldMap:
    """``g``: 2x2, SLM frequency (cycles/pixel, (row, col)) -> camera displacement (pixels); ``origin``: camera
    position of an undeflected spot; ``rms_px``: fit residual; ``frequencies`` / ``positions``: the data."""

    g: np.ndarray
    origin: np.ndarray
    rms_px: float
    frequencies: np.ndarray
    positions: np.ndarray


def _blaze_frame(probe: BenchProbe, lut: np.ndarray, phase: np.ndarray, average: int) -> np.ndarray:
    probe.show(gray=phase_to_gray(phase, lut))
    return probe.frame(average)


def measure_far_field_map(
    probe: BenchProbe, lut: np.ndarray, frequency: float = 0.125, spot_sigma_px: float = 1.0, average: int = 1
) -> FarFieldMap:
    """Measure ``G`` with 8 blazes of ``frequency`` cycles/pixel (axes and diagonals); 9 captures + exposure."""
    probe.emission(True)
    probe.show(amplitude=probe.blob(sigma_px=spot_sigma_px), gray=probe.flat_gray())
    probe.autoexpose(target=0.5)
    flat = probe.frame(average)
    zero = fitting.refine_centroid(flat, fitting.peak(flat), probe.spot_radius(spot_sigma_px))
    directions = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)], dtype=np.float64)
    frequencies = directions * frequency
    radius = probe.spot_radius(spot_sigma_px)
    positions = []
    for f in frequencies:
        image = _blaze_frame(probe, lut, blaze(probe.slm_shape, f), average)
        positions.append(fitting.refine_centroid(image, fitting.peak(image, exclude=[(zero, radius)]), radius))
    affine, rms = fitting.fit_affine(frequencies, np.array(positions))
    return FarFieldMap(g=affine[:, :2], origin=affine[:, 2], rms_px=rms, frequencies=frequencies, positions=np.array(positions))


@dataclass
class SpectrumFit:
    """``affine`` (2x3, bins (row, col) from DC -> SLM pixel (row, col)); the measured blob centres by their
    bins (``bins`` [n, 2], ``centres`` [n, 2]) and the affine's RMS residual on them (SLM pixels)."""

    affine: np.ndarray
    bins: np.ndarray
    centres: np.ndarray
    rms_px: float


def _blob_centre(
    probe: BenchProbe, lut: np.ndarray, guess: np.ndarray, half: int, spots: dict, correction: np.ndarray, average: int
) -> np.ndarray:
    """Centre (SLM (row, col)) of the spectral blob near ``guess``: a knife edge per axis inside a box of
    ``half`` pixels. ``spots[axis]`` = (two blaze frequencies along the boundary line, their camera masks,
    the masks' centres): blazes that vary along the boundary keep the pixels on both sides of it alike."""
    shape = probe.slm_shape
    index = np.indices(shape)
    lo = np.clip(np.round(guess).astype(int) - half, 0, None)
    hi = np.minimum(np.round(guess).astype(int) + half + 1, shape)
    box = (index[0] >= lo[0]) & (index[0] < hi[0]) & (index[1] >= lo[1]) & (index[1] < hi[1])
    centre = np.asarray(guess, dtype=np.float64).copy()
    directions, _, window_centres = spots[0]
    probe.show(gray=phase_to_gray(np.where(box, blaze(shape, directions[0]), 0.0) + correction, lut))
    probe.autoexpose(target=0.5, points=window_centres[:1])  # the deflected image, not the bright zeroth order
    for axis in (0, 1):
        directions, masks, _ = spots[axis]
        blazes = [blaze(shape, f) for f in directions]

        def powers(phase: np.ndarray) -> np.ndarray:
            image = _blaze_frame(probe, lut, np.where(box, phase, 0.0) + correction, average)
            return np.array([float(image[m].sum()) for m in masks])

        # the whole box on one blaze: that window's full signal, and the other window's background
        # (zeroth-order tails, stray orders), which hardly depends on where the boundary is
        all_first, all_second = powers(blazes[0]), powers(blazes[1])
        background = np.array([all_second[0], all_first[1]])
        efficiency = np.array([all_first[0], all_second[1]]) - background
        values: dict[int, float] = {}

        def balance(boundary: int) -> None:
            if boundary not in values:
                p = (powers(np.where(index[axis] < boundary, blazes[0], blazes[1])) - background) / efficiency
                values[boundary] = float((p[0] - p[1]) / max(p[0] + p[1], 1e-12))

        start = int(np.round(guess[axis]))
        for b in np.clip(start + np.arange(-half + 2, half - 1, max(1, half // 3)), lo[axis] + 1, hi[axis] - 1):
            balance(int(b))
        bounds = np.array(sorted(values))
        crossing = _crossing(bounds, np.array([values[b] for b in bounds]))
        for b in np.clip(np.round(crossing) + np.arange(-2, 3), lo[axis] + 1, hi[axis] - 1):
            balance(int(b))
        bounds = np.array(sorted(values))
        near = bounds[np.argsort(np.abs(bounds - 0.5 - crossing), kind="stable")[:6]]
        centre[axis] = _crossing(near, np.array([values[b] for b in near]), degree=3)
    return centre


def measure_spectrum_affine(
    probe: BenchProbe, lut: np.ndarray, far_field: FarFieldMap, nominal: np.ndarray, pad: int,
    correction: np.ndarray | None = None, frequency: float = 0.2, blob_sigma_px: float = 2.5, average: int = 1,
) -> SpectrumFit:
    """Fourier affine from knife edges on the blobs at ``+-k0`` (see the module doc); about 110 captures.

    ``nominal`` is the 2x3 the optics predict: its linear part places the boxes around the blobs at
    ``+-k0`` relative to DC, which a first, wide knife edge locates (so the offset may be far off);
    ``pad`` the P of the bins; ``blob_sigma_px`` sets the spectral blobs' size on the SLM (SLM pixels).
    ``correction`` (rad, SLM grid; the wavefront correction) is added to every pattern, so that the
    deflected images stay sharp and in place whichever part of the box sends them.
    """
    scale = float(np.sqrt(abs(np.linalg.det(nominal[:, :2]))))
    sigma_in = float(np.clip(scale * pad / (2 * np.pi * blob_sigma_px), 1.0, min(probe.input_shape) / 6))
    half = int(np.ceil(3 * blob_sigma_px)) + 3
    k0 = float(np.ceil((2 * half + 3 * blob_sigma_px + 4) / scale))
    rows, cols = np.indices(probe.input_shape, dtype=np.float64)
    centre_in = optical_centre(probe.input_shape)
    envelope = probe.blob(sigma_px=sigma_in)
    cam = np.indices(probe.bench.camera.shape)
    spots = {}
    for axis in (0, 1):
        along = np.zeros(2)
        along[1 - axis] = frequency
        directions = (along, -along)
        radius = min(probe.spot_radius(sigma_in), 0.45 * float(np.hypot(*(far_field.g @ along))))
        window_centres = np.array([far_field.origin + far_field.g @ f for f in directions])
        masks = tuple(((cam[0] - c[0]) ** 2 + (cam[1] - c[1]) ** 2) <= radius**2 for c in window_centres)
        spots[axis] = (directions, masks, window_centres)
    correction = np.zeros(probe.slm_shape) if correction is None else correction
    probe.emission(True)
    # where DC really is (the offset may be far from the nominal): a wide spectral blob in a wide box
    probe.show(amplitude=probe.blob(sigma_px=max(1.0, sigma_in / 4)))
    located = nominal.copy()
    located[:, 2] = _blob_centre(probe, lut, nominal[:, 2], int(np.ceil(12 * blob_sigma_px)) + 3, spots, correction, average)
    bins, centres = [], []
    for axis in (0, 1):
        k = np.zeros(2)
        k[axis] = k0
        fringe = 0.5 * (1.0 + np.cos(2 * np.pi * (k[0] * (rows - centre_in[0]) + k[1] * (cols - centre_in[1])) / pad))
        probe.show(amplitude=envelope * fringe)
        for sign in (1.0, -1.0):
            centres.append(_blob_centre(probe, lut, apply_affine(located, sign * k), half, spots, correction, average))
            bins.append(sign * k)
    affine, rms = fitting.fit_affine(np.array(bins), np.array(centres))
    return SpectrumFit(affine=affine, bins=np.array(bins), centres=np.array(centres), rms_px=rms)


def _crossing(boundaries: np.ndarray, balance: np.ndarray, degree: int = 1) -> float:
    """Pixel coordinate where the balance crosses 0; a boundary ``b`` lies at coordinate ``b - 0.5``."""
    order = np.argsort(boundaries)
    x, y = boundaries[order] - 0.5, balance[order]
    if degree == 1:
        sign = np.flatnonzero(np.diff(np.sign(y)) != 0)
        if sign.size == 0:
            raise fitting.FitError("the knife edge never balanced: the spectrum is not where the optics put it; check the alignment")
        i = int(sign[0])
        return float(x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))
    coeffs = np.polyfit(x - x.mean(), y, min(degree, x.size - 1))
    roots = np.roots(coeffs)
    real = roots[np.abs(roots.imag) < 1e-9].real + x.mean()
    inside = real[(real >= x.min() - 1) & (real <= x.max() + 1)]
    if inside.size == 0:
        raise fitting.FitError("the knife-edge balance has no crossing near the measured boundaries")
    return float(inside[np.argmin(np.abs(inside - x.mean()))])
