"""Camera registration: where each pixel of the model's output grid (= the input modulator's pixel
grid imaged through the 4f) lands on the camera, as a 2x3 affine.

The input modulator shows one small Gaussian spot at a time on a grid of known positions while the
SLM shows the wavefront correction (so the image is sharp and shifted exactly as it will be when a
program runs); the centroid of each image and the known positions give the affine by least squares.
One spot per capture keeps the matching unambiguous whatever the rotation or flip of the camera.
slmsuite has no input modulator, so it has no such calibration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from osclc.calibration.measure import fitting
from osclc.calibration.measure.probe import BenchProbe


@dataclass
class Registration:
    """``affine`` (2x3, input pixel (row, col) -> camera pixel (row, col)), fit ``rms_px``, and the point pairs."""

    affine: np.ndarray
    rms_px: float
    input_points: np.ndarray
    camera_points: np.ndarray


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
    radius = probe.spot_radius(spot_sigma_px)
    found = []
    for point in points:
        probe.show(amplitude=probe.blob(point, spot_sigma_px))
        image = probe.frame(average)
        found.append(fitting.refine_centroid(image, fitting.peak(image), radius))
    affine, rms = fitting.fit_affine(points, np.array(found))
    return Registration(affine=affine, rms_px=rms, input_points=points, camera_points=np.array(found))
