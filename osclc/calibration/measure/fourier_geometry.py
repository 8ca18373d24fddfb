"""Fourier geometry: the far-field map ``G`` and where each frequency bin of the input lands on the SLM
(``fourier.affine``).

1. ``G`` (2x2), the far-field map: a blaze of spatial frequency ``f`` (cycles per SLM pixel) moves the image of
   an input spot by ``G @ f`` camera pixels. Measured with 16 blazed gratings (8 directions, 2 magnitudes, through
   the measured LUT) in impulse mode, each spot located by its centroid (the outer ring where the inner ring's
   fit predicts it), ``G`` and the undeflected spot's position (``origin``) by an outlier-robust fit. Blazes up to
   0.125 cycles/pixel keep a usable first order under strong fringing (sigma 1.5 px: 21 % of the light). This is
   the map slmsuite's ``fourier_calibrate`` measures (kxy -> camera ij; see
   :mod:`osclc.calibration.measure.slmsuite_adapter`).
2. The affine's linear part by composition with the camera registration ``C`` (input pixel -> camera pixel): an
   input shifted by ``d`` input pixels multiplies its spectrum by ``exp(-2 pi i k . d / P)``, a linear phase of
   ``-A^-T d / P`` cycles per SLM pixel (``A`` the affine's 2x2, bins -> SLM pixels), which lens 2 turns into a
   camera shift ``G`` times that, so ``C = -G A^-T / P`` and ``A = (-P G^-1 C)^-T``. Both maps are measured
   through the same LUT, so the result is the one the compiled patterns need even on an SLM whose phase runs
   opposite to the LUT's convention (then ``G`` and ``A`` both flip, and a flipped ``A`` is what displays the
   kernels right). No fringing, zero order or kernel shape enters: only spot centroids.
3. The DC position (where the optical axis crosses the SLM) by the tilt of an off-centre lens: the SLM shows a
   carrier blaze ``f_c`` plus a lens ``+-alpha |y - y0|^2`` centred at a guess ``y0``. The centroid of the first
   order's far field is ``G / (2 pi)`` times the intensity-weighted mean phase gradient over the SLM (an exact
   identity of Fourier optics), and the lens adds ``2 alpha (y_bar - y0)`` to it, ``y_bar`` the centroid of the
   light on the SLM: for a real input (a spot) its spectrum's power is centrosymmetric about DC, so ``y_bar`` is
   the DC. The difference of the ``+alpha`` and ``-alpha`` centroids, ``2 alpha G (DC - y0) / pi``, gives the DC
   free of the wavefront's tilt, the blaze efficiency's slow variation with the local frequency (it changes sign
   with alpha), the zero order (it stays at the undeflected spot, outside the window) and any symmetric fringing
   kernel (a blurred quadratic is the same quadratic plus a constant). The efficiency's slope and a residual
   wavefront curvature together still shift the weighted centroid; that shift changes sign with the carrier, so
   every pass measures with ``+f_c`` and ``-f_c`` and averages. Passes centred on the previous result make
   the answer independent of the error of ``G`` and of the blaze efficiency's curvature (both act in proportion to
   the distance of the lens centre from the DC); the last pass's change is a quality figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from osclc.calibration.lut import phase_to_gray
from osclc.calibration.measure import fitting
from osclc.calibration.measure.gates import condition_figure, exposure_figures, offset_figure, require_light, scale_figure
from osclc.calibration.measure.patterns import blaze
from osclc.calibration.measure.probe import BenchProbe
from osclc.calibration.quality import Figure

DIRECTIONS = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)], dtype=np.float64)
SLM_BLIND = ("the blazed gratings do not move the light as one far-field map: the SLM shows nothing (frozen or "
             "not connected?) or the camera does not see its far field")
SLM_BLIND_FIX = "check the SLM's video connection and that the camera sees the light the SLM diffracts"


@dataclass
class FarFieldMap:
    """``g``: 2x2, SLM frequency (cycles/pixel, (row, col)) -> camera displacement (pixels); ``origin``: camera
    position of an undeflected spot; ``rms_px``: fit residual; ``frequencies`` / ``positions``: the data, ``inliers``
    the points the fit kept; ``figures``: the quality figures of the step."""

    g: np.ndarray
    origin: np.ndarray
    rms_px: float
    frequencies: np.ndarray
    positions: np.ndarray
    inliers: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    figures: list[Figure] = field(default_factory=list)


def _blaze_frame(probe: BenchProbe, lut: np.ndarray, phase: np.ndarray, average: int) -> np.ndarray:
    probe.show(gray=phase_to_gray(phase, lut))
    return probe.frame(average)


def measure_far_field_map(
    probe: BenchProbe, lut: np.ndarray, max_frequency: float = 0.125, spot_sigma_px: float = 1.0, average: int = 1
) -> FarFieldMap:
    """Measure ``G`` with 16 blazes (see the module doc): 17 captures plus the exposure's. The blazes reach
    ``max_frequency`` cycles/pixel, less when that would leave the camera at the nominal far-field scale."""
    probe.emission(True)
    probe.show(amplitude=probe.blob(sigma_px=spot_sigma_px), gray=probe.flat_gray())
    probe.autoexpose(target=0.5)
    require_light("far_field", probe.exposures)
    radius = probe.spot_radius(spot_sigma_px)
    flat = probe.frame(average)
    zero = fitting.refine_centroid(flat, fitting.peak(flat), radius)
    reach = min(max_frequency, 0.3 * min(probe.bench.camera.shape) / probe.nominal_far_field_px())
    frequencies = np.concatenate([DIRECTIONS * reach / 2, DIRECTIONS * reach])
    positions = np.full((frequencies.shape[0], 2), np.nan)
    inner: fitting.AffineFit | None = None
    for i, f in enumerate(frequencies):
        image = _blaze_frame(probe, lut, blaze(probe.slm_shape, f), average)
        if i == len(DIRECTIONS):  # the inner ring predicts where the outer ring's spots are
            inner = _fit_or_none(np.vstack([[0.0, 0.0], frequencies[:i]]), np.vstack([zero, positions[:i]]))
        if inner is None:
            guess = fitting.peak(image, exclude=[(zero, radius)])
        else:
            guess = inner.affine[:, :2] @ f + inner.affine[:, 2]
        try:
            positions[i] = fitting.refine_centroid(image, guess, radius)
        except fitting.FitError:
            continue  # no light where the spot should be: left out, counted by the usable-spots figure
    src, dst = np.vstack([[0.0, 0.0], frequencies]), np.vstack([zero, positions])
    usable = np.all(np.isfinite(dst), axis=1)
    fit = _fit_or_none(src[usable], dst[usable])
    inliers = np.zeros(src.shape[0], bool)
    if fit is None:
        g, origin, rms, condition = np.zeros((2, 2)), zero, float("inf"), float("inf")
    else:
        inliers[np.flatnonzero(usable)[fit.inliers]] = True
        g, origin, rms, condition = fit.affine[:, :2], fit.affine[:, 2], fit.rms, fit.condition
    nominal = probe.nominal_far_field_px()
    figures = exposure_figures("far_field", probe.exposures) + [
        Figure("far_field", "usable blaze spots", float(inliers.sum()), 0.75 * src.shape[0], "min", "", SLM_BLIND,
               SLM_BLIND_FIX, ideal=float(src.shape[0])),
        Figure("far_field", "fit residual", rms, 0.5, "max", "px",
               "the blazed spots do not follow one linear far-field map (spots taken for other orders, or distortion)",
               "check the LUT calibration and that nothing clips the beam between the SLM and the camera"),
        scale_figure("far_field", "far-field scale", float(np.sqrt(abs(np.linalg.det(g)))), nominal,
                     "wavelength*f2/(p_slm*p_cam)", "optics.f2_m, optics.wavelength_m, slm.pitch_m and camera.pitch_m"),
        condition_figure("far_field", "far-field map", condition, SLM_BLIND, SLM_BLIND_FIX),
    ]
    return FarFieldMap(g=g, origin=origin, rms_px=rms, frequencies=src, positions=dst, inliers=inliers, figures=figures)


def _fit_or_none(src: np.ndarray, dst: np.ndarray) -> fitting.AffineFit | None:
    usable = np.all(np.isfinite(dst), axis=1)
    try:
        return fitting.fit_affine(src[usable], dst[usable], floor=0.3, min_points=4)
    except fitting.FitError:
        return None


@dataclass
class SpectrumFit:
    """``affine`` (2x3, bins (row, col) from DC -> SLM pixel (row, col)); the DC found by each lens pass (``passes``,
    SLM (row, col)); the lens-tilt spot centroids of the last pass (``spots`` [2, 2, 2]: carrier +-, lens +-alpha,
    camera (row, col)); ``figures``: the quality figures of the step."""

    affine: np.ndarray
    passes: np.ndarray
    spots: np.ndarray
    figures: list[Figure] = field(default_factory=list)


def linear_from_composition(g: np.ndarray, camera_linear: np.ndarray, pad: int) -> np.ndarray:
    """The Fourier affine's 2x2 (bins of the ``pad`` grid -> SLM pixels) from the far-field map ``g`` and the camera
    registration's 2x2 ``camera_linear`` (input pixels -> camera pixels): ``(-P G^-1 C)^-T`` (see the module doc)."""
    return np.linalg.inv(-pad * np.linalg.solve(g, camera_linear)).T


def _lens_shift(
    probe: BenchProbe, lut: np.ndarray, far_field: FarFieldMap, y0: np.ndarray, carrier: np.ndarray, alpha: float,
    correction: np.ndarray, radius: float, average: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Camera shift (row, col) of the first order between the lens ``+alpha`` and ``-alpha`` centred at ``y0``, the
    mean over the carriers ``+carrier`` and ``-carrier``, and the centroids [carrier, lens sign, 2]. Every frame has
    a background frame subtracted: the same lens on the perpendicular carrier, whose first orders land elsewhere
    while the undeflected light (the zero order, aberrated by the cover glass, which no correction reaches) stays."""
    rows, cols = np.indices(probe.slm_shape, dtype=np.float64)
    lens = alpha * ((rows - y0[0]) ** 2 + (cols - y0[1]) ** 2)
    frames = []
    for f in (carrier, -carrier, np.array([carrier[1], -carrier[0]])):
        for sign in (1.0, -1.0):
            probe.show(gray=phase_to_gray(blaze(probe.slm_shape, f) + correction + sign * lens, lut))
            if not frames:  # each pass: the spots grow sharper as the lens centre nears the DC, so expose again
                probe.autoexpose(target=0.4, points=_spot_peak(probe.frame(), far_field.origin + far_field.g @ f, radius))
                require_light("fourier", probe.exposures)
            frames.append(probe.frame(average))
    background = frames[4:]
    found = np.zeros((2, 2, 2))
    for i, f in enumerate((carrier, -carrier)):
        images = [frames[2 * i + j] - background[j] for j in (0, 1)]
        found[i] = _joint_centroids(images, far_field.origin + far_field.g @ f, radius)
    return np.mean(found[:, 0] - found[:, 1], axis=0), found


def _spot_peak(image: np.ndarray, guess: np.ndarray, radius: float) -> np.ndarray:
    """[1, 2]: the brightest point of ``image`` within ``radius`` of ``guess`` (the spot the exposure is set on; the
    undeflected light outside the window may saturate, it is never measured)."""
    rows, cols = np.indices(image.shape)
    outside = (rows - guess[0]) ** 2 + (cols - guess[1]) ** 2 > radius**2
    return fitting.peak(np.where(outside, np.min(image), image))[None]


def _joint_centroids(images: list[np.ndarray], guess: np.ndarray, radius: float, tolerance: float = 1e-3) -> np.ndarray:
    """Centroids [n, 2] of the spots of ``images`` measured in one common window of ``radius`` pixels, re-centred on
    their mean until it moves less than ``tolerance`` pixels: the window's truncation and background (nothing is
    subtracted) then act alike on every spot, and their differences keep the spots' own shifts (scaled down a little by
    the truncation, which matters less with each lens pass as the shifts shrink). A first pass with a window half as large
    again finds the spots from ``guess``."""
    centre = np.asarray(guess, dtype=np.float64)
    points = np.zeros((len(images), 2))
    for size, rounds in ((1.5 * radius, 3), (radius, 50)):
        for _ in range(rounds):
            points = np.array([fitting.centroid(image, centre, size, background="none")[0] for image in images])
            moved = float(np.hypot(*(points.mean(axis=0) - centre)))
            centre = points.mean(axis=0)
            if moved < tolerance:
                break
    return points


def measure_spectrum_affine(
    probe: BenchProbe, lut: np.ndarray, far_field: FarFieldMap, camera_affine: np.ndarray, nominal: np.ndarray, pad: int,
    correction: np.ndarray | None = None, carrier_frequency: float = 0.1, spread: float = 0.2, passes: int = 3,
    average: int = 1,
) -> SpectrumFit:
    """Fourier affine: linear part composed from ``far_field`` and the camera registration ``camera_affine``, DC by
    ``passes`` lens-tilt passes (see the module doc); ``6 * passes`` captures plus the exposures'.

    ``nominal`` is the 2x3 the config optics predict (its offset is the first lens centre; its scale sets the input
    spot, so that the spectrum's power covers about a twelfth of the SLM); ``pad`` the P of the bins;
    ``carrier_frequency`` (cycles/pixel) moves the measured light away from the undeflected spot, and ``spread``
    sets the lens so that its spot spreads over that fraction of the carrier's distance. ``correction`` (rad, SLM
    grid; the wavefront correction) is added to every pattern.
    """
    slm_shape = probe.slm_shape
    linear = linear_from_composition(far_field.g, camera_affine[:, :2], pad)
    scale = float(np.sqrt(abs(np.linalg.det(nominal[:, :2]))))
    sigma_slm = min(slm_shape) / 12.0  # the spectrum's power on the SLM (std, pixels): well inside the SLM
    sigma_in = float(np.clip(scale * pad / (2 * np.pi * sigma_slm), 0.7, min(probe.input_shape) / 8))
    carrier = np.array([1.0, 1.0]) * carrier_frequency / np.sqrt(2.0)
    alpha = spread * np.pi * carrier_frequency / sigma_slm  # rad per pixel^2
    distance = float(np.hypot(*(far_field.g @ carrier)))
    radius = min(3.0 * spread * distance + probe.spot_radius(sigma_in), 0.6 * distance)
    correction = np.zeros(slm_shape) if correction is None else correction
    probe.emission(True)
    probe.show(amplitude=probe.blob(sigma_px=sigma_in))
    centre = np.asarray(nominal[:, 2], dtype=np.float64)
    found = []
    spots = np.zeros((2, 2, 2))
    for _ in range(passes):
        shift, spots = _lens_shift(probe, lut, far_field, centre, carrier, alpha, correction, radius, average)
        centre = centre + np.pi / (2 * alpha) * np.linalg.solve(far_field.g, shift)
        found.append(centre)
    affine = np.concatenate([linear, centre[:, None]], axis=1)
    figures = exposure_figures("fourier", probe.exposures) + [
        offset_figure("fourier", "optical axis on the SLM", centre - nominal[:, 2], slm_shape,
                      "the spectrum's DC lies far from the SLM centre", "centre the SLM on the beam (or the beam on the SLM)"),
        scale_figure("fourier", "spectrum scale", float(np.sqrt(abs(np.linalg.det(linear)))), scale,
                     "wavelength*f1/(P*p_in*p_slm)", "optics.f1_m, optics.pad, input.pitch_m and slm.pitch_m"),
        condition_figure("fourier", "spectrum map", float(np.linalg.cond(linear)),
                         "the spectrum map composed from the far field and the camera registration is skewed",
                         "re-run `osclc calibrate all` (the far-field map and the camera registration)"),
        Figure("fourier", "DC change in the last lens pass", float(np.hypot(*(found[-1] - found[-2]))) if passes > 1 else 0.0,
               0.2, "max", "px", "the lens-tilt measurement of the DC does not converge (light clipped, or a strongly "
               "asymmetric spectrum)", "check that the input modulator shows the spot and nothing else lights the SLM"),
    ]
    return SpectrumFit(affine=affine, passes=np.array(found), spots=spots, figures=figures)
