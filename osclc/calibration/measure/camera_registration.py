"""Camera registration: where each pixel of the model's output grid (= the input modulator's pixel
grid imaged through the 4f) lands on the camera, as a 2x3 affine.

The input modulator shows one small Gaussian spot at a time on a grid of known positions while the
SLM shows the wavefront correction (so the image is sharp and shifted exactly as it will be when a
program runs); the centroid of each image and the known positions give the affine by an outlier-robust
fit. One spot per capture keeps the matching unambiguous whatever the rotation or flip of the camera.
slmsuite has no input modulator, so it has no such calibration.

Gates: light; spots found; their spread against the nominal image's (spots that do not move mean the
camera sees the SLM's far field, not the image plane); fit residual; scale, centre and skew against the
config's nominal image (magnification ``f2/f1``, the input's centre on the sensor's centre). The image scale
carries both focal-length errors (``f2`` through the far-field map, ``f1`` through the spectrum), so its bound is
the product of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from osclc.calibration.measure import fitting
from osclc.calibration.measure.gates import condition_figure, exposure_figures, offset_figure, require_light, scale_figure
from osclc.calibration.measure.probe import BenchProbe
from osclc.calibration.quality import Figure, QualityError
from osclc.calibration.record import apply_affine, optical_centre

FAR_FIELD = ("the input's spots do not move on the camera: the camera sees the SLM's far field, not the output image "
             "plane (or the input modulator shows nothing)")
FAR_FIELD_FIX = "put the camera in the image plane of lens 2 (one focal length f2 behind it); check the input modulator"


@dataclass
class Registration:
    """``affine`` (2x3, input pixel (row, col) -> camera pixel (row, col)), fit ``rms_px``, the point pairs (NaN
    where no spot was found), the points the fit kept (``inliers``) and the quality figures."""

    affine: np.ndarray
    rms_px: float
    input_points: np.ndarray
    camera_points: np.ndarray
    inliers: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    figures: list[Figure] = field(default_factory=list)


def measure_camera_registration(
    probe: BenchProbe, slm_gray: np.ndarray, grid: int = 5, margin: float = 0.15, spot_sigma_px: float = 1.5, average: int = 1
) -> Registration:
    """Show ``grid`` x ``grid`` spots one at a time (``margin`` of the modulator left free at each edge);
    the SLM shows ``slm_gray`` (the wavefront correction). ``grid**2`` captures plus exposure."""
    rows, cols = probe.input_shape
    along_r = np.linspace(margin * (rows - 1), (1 - margin) * (rows - 1), grid)
    along_c = np.linspace(margin * (cols - 1), (1 - margin) * (cols - 1), grid)
    points = np.array([(r, c) for r in np.round(along_r) for c in np.round(along_c)])
    probe.emission(True)
    probe.show(amplitude=probe.blob(points[len(points) // 2], spot_sigma_px), gray=slm_gray)
    probe.autoexpose(target=0.5)
    require_light("camera", probe.exposures)
    radius = probe.spot_radius(spot_sigma_px)
    found = np.full(points.shape, np.nan)
    for i, point in enumerate(points):
        probe.show(amplitude=probe.blob(point, spot_sigma_px))
        image = probe.frame(average)
        guess = fitting.peak(image)
        if image[int(guess[0]), int(guess[1])] < 0.2 * probe.exposures[-1].peak:
            continue  # no spot on the camera (the image is partly off the sensor)
        found[i] = fitting.refine_centroid(image, guess, radius)
    usable = np.all(np.isfinite(found), axis=1)
    figures = exposure_figures("camera", probe.exposures)
    figures.append(Figure("camera", "spots found", float(usable.sum()), 0.8 * len(points), "min", "",
                          "the input's spots are not all on the camera: the image is partly off the sensor (camera off axis?)",
                          "centre the camera on the optical axis", ideal=float(len(points))))
    nominal = probe.nominal_camera_scale()
    spread = _spread(found[usable]) / (nominal * _spread(points[usable])) if usable.sum() >= 2 else 0.0
    figures.append(Figure("camera", "spot spread / nominal", spread, 0.5, "min", "", FAR_FIELD, FAR_FIELD_FIX, ideal=1.0))
    if any(f.verdict == "fail" for f in figures[-2:]):
        raise QualityError([f for f in figures if f.verdict == "fail"])  # no map to fit
    fit = fitting.fit_affine(points[usable], found[usable], floor=0.1, min_points=int(np.ceil(0.8 * len(points))))
    inliers = np.zeros(len(points), bool)
    inliers[np.flatnonzero(usable)[fit.inliers]] = True
    centre = apply_affine(fit.affine, optical_centre(probe.input_shape)) - optical_centre(probe.bench.camera.shape)
    figures += [
        Figure("camera", "fit residual", fit.rms, 0.15, "max", "px",
               "the spots do not follow one affine map: image distortion, or spots confused with stray light",
               "check the image is sharp (camera in focus, no clipping aperture)"),
        scale_figure("camera", "image scale", float(np.sqrt(abs(np.linalg.det(fit.affine[:, :2])))), nominal,
                     "f2/f1 * p_in/p_cam", "optics.f2_m and optics.f1_m (and input.pitch_m, camera.pitch_m)", bound=1.6),
        offset_figure("camera", "image centre", centre, probe.bench.camera.shape,
                      "the input's centre is imaged far from the sensor's centre: camera far off axis",
                      "centre the camera on the optical axis"),
        condition_figure("camera", "image map", fit.condition, "the image on the camera is skewed (tilted camera or lens?)",
                         "square the camera to the optical axis"),
    ]
    return Registration(affine=fit.affine, rms_px=fit.rms, input_points=points, camera_points=found, inliers=inliers,
                        figures=figures)


def _spread(points: np.ndarray) -> float:
    """RMS distance of ``points`` [n, 2] from their mean."""
    return float(np.sqrt(np.mean(np.sum((points - points.mean(axis=0)) ** 2, axis=1))))
