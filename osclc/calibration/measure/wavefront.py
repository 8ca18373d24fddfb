"""Wavefront: the SLM's flatness error, measured by interfering neighbouring superpixels, as a correction.

Why not slmsuite's ``wavefront_calibrate``: its superpixel method interferes ONE test superpixel
with a reference per set of phase steps (hundreds to thousands of captures for a full map), and
its Zernike method optimises spot quality term by term (also hundreds of captures); the demo's
whole calibration must take well under a minute. Here every pair of neighbouring superpixels is
measured at once, each pair sent by its own blaze to its own far-field spot:

- The SLM is tiled ``grid`` x ``grid``. In one frame, disjoint pairs of horizontal (or vertical)
  neighbours show the same blaze (their own frequency ``k_p``); everything else is flat.
- At the far-field point of ``k_p`` (camera ``origin + G @ k_p``) the field is
  ``B + F_a exp(i theta_a) + F_b exp(i theta_b)``, where ``B`` is light that does not depend on the
  steps (the zeroth order's side lobes, unmodulated light). Over 6 frames the two superpixels are
  stepped at different rates, ``theta_a = 2 pi m / 6`` and ``theta_b = 3 * 2 pi m / 6``, so that
  ``F_b conj(F_a)`` is the only term of the intensity at harmonic 2 of the sequence (the others sit
  at harmonics 0, +-1 and 3): its phase is ``W_b - W_a``, the difference of the pair's mean phases,
  free of ``B``. Four pairings (horizontal / vertical, even / odd) x 6 steps cover every neighbour
  difference (more frames when the spots do not fit at once).
- The Zernike coefficients (Noll 2 .. ``terms``, over the circle through the corners of the measured
  box) whose superpixel means best explain all the differences are found by weighted least squares.
  By default the terms go up to radial order ``grid // 2`` (Noll 15 for an 8 x 8 grid,
  :func:`default_terms`): higher orders vary faster than the superpixels sample them, and fitting
  them turns measurement error into wavefront error (realistic bench, same 51 captures: residual
  against the simulated truth 0.045 rad with 15 terms, 0.069 rad with 36, noise off or on alike);
  the correction is minus that wavefront, without its tilt over the measured box (a tilt only moves
  the image, which the camera registration, measured with the correction displayed, absorbs).
- Only the SLM area the models use is tiled (``box``: bins up to +-P/2); outside it the correction
  keeps its value at the nearest box pixel (bounded: a polynomial extrapolated far out is not).

Limits: the phase difference between neighbouring superpixels must stay below pi (use a finer
``grid`` for strong aberrations); the spot sampling uses the undeflected spot position, so the
global tilt is not measured (by design, see above).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from osclc.calibration.lut import phase_to_gray
from osclc.calibration.measure import fitting
from osclc.calibration.measure.fourier_geometry import FarFieldMap
from osclc.calibration.measure.gates import exposure_figures, require_light
from osclc.calibration.measure.patterns import superpixel_index
from osclc.calibration.measure.probe import BenchProbe
from osclc.calibration.quality import Figure
from osclc.drivers.physics.zernike import zernike

STEPS = 6
REACH_TIMES_FRINGING = 0.28
"""Highest spot frequency (cycles/pixel) times the fringing sigma (pixels): blazes beyond it lose most of their first
order to crosstalk (a sigma of 1 px keeps a third of the light in the first order at 0.28 cycles/pixel)."""
HARMONIC_A, HARMONIC_B = 1, 3  # phase-step rates of the two superpixels; their interference is harmonic 3 - 1 = 2


@dataclass
class WavefrontResult:
    """``correction_rad`` (SLM grid, add to every pattern), the fitted ``coefficients`` (Noll 2 ..),
    the measured neighbour differences (unwrapped onto the fit), the RMS misfit of the fit (rad), the fraction of
    neighbour pairs bright enough to use, and the quality figures."""

    correction_rad: np.ndarray
    coefficients: np.ndarray
    differences: np.ndarray
    misfit_rad: float
    usable_fraction: float = 1.0
    figures: list[Figure] = field(default_factory=list)


def default_terms(grid: int) -> int:
    """Zernike terms (highest Noll index) a ``grid`` x ``grid`` superpixel measurement supports: every term up
    to radial order ``grid // 2``, i.e. ``(n + 1)(n + 2) / 2`` for ``n = grid // 2``."""
    order = int(grid) // 2
    return (order + 1) * (order + 2) // 2


def zernike_basis(shape: tuple[int, int], terms: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """Zernike maps (Noll 2 .. ``terms``) on the SLM grid, [terms-1, rows, cols]: unit RMS over the circle through
    the corners of ``box`` (row0, row1, col0, col1); outside the box each map keeps its value at the nearest
    box pixel (a bounded, continuous extension where nothing was measured)."""
    row0, row1, col0, col1 = box
    rows, cols = np.indices(shape, dtype=np.float64)
    y = np.clip(rows, row0, row1 - 1) - (row0 + row1 - 1) / 2
    x = np.clip(cols, col0, col1 - 1) - (col0 + col1 - 1) / 2
    radius = np.hypot((row1 - row0 - 1) / 2, (col1 - col0 - 1) / 2)
    rho, theta = np.hypot(y, x) / radius, np.arctan2(y, x)
    return np.stack([zernike(j, rho, theta) for j in range(2, terms + 1)])


def _pairs(grid: int, axis: int, parity: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    pairs = []
    for i in range(grid):
        for j in range(parity, grid - 1, 2):
            a, b = ((j, i), (j + 1, i)) if axis == 0 else ((i, j), (i, j + 1))
            pairs.append((a, b))
    return pairs


def _spot_frequencies(far_field: FarFieldMap, camera_shape: tuple[int, int], superpixel_px: float, reach: float) -> np.ndarray:
    """Blaze frequencies (cycles/pixel) for the pair spots, nearest first: a lattice of pitch 3 superpixel
    spot widths, in the half ring ``reach / 2 < |k| <= reach`` with ``k_row > 0``, on the camera. In that
    half ring no spot sits on another one's -1st, 0th, 2nd or 3rd order, which a blaze blurred by fringing
    also lights."""
    step = 3.0 / superpixel_px
    ticks = np.arange(-np.floor(reach / step), np.floor(reach / step) + 1) * step
    grid = np.array([(a, b) for a in ticks for b in ticks])
    radius = np.hypot(grid[:, 0], grid[:, 1])
    grid = grid[(grid[:, 0] > 0) & (radius > reach / 2) & (radius <= reach)]
    spots = far_field.origin + grid @ far_field.g.T
    margin = 0.5 * np.hypot(*(far_field.g @ np.array([step, 0.0])))
    on_camera = np.all((spots >= margin) & (spots <= np.array(camera_shape) - 1 - margin), axis=1)
    grid = grid[on_camera]
    return grid[np.argsort(np.hypot(grid[:, 0], grid[:, 1]), kind="stable")]


def _pair_harmonics(
    probe: BenchProbe, lut: np.ndarray, far_field: FarFieldMap, sp_rows: np.ndarray, sp_cols: np.ndarray,
    grid: int, frequencies: np.ndarray, average: int,
) -> list[tuple[tuple[int, int], tuple[int, int], complex]]:
    """For every neighbour pair (a, b): the harmonic-2 amplitude ``~ F_b conj(F_a)`` at its spot (see the module doc)."""
    shape = probe.slm_shape
    rows, cols = np.indices(shape, dtype=np.float64)
    measurements: list[tuple[tuple[int, int], tuple[int, int], complex]] = []
    exposed = False
    for axis in (0, 1):
        for parity in (0, 1):
            pairs = _pairs(grid, axis, parity)
            for start in range(0, len(pairs), frequencies.shape[0]):
                batch = pairs[start:start + frequencies.shape[0]]
                base = np.zeros(shape)
                first = np.zeros(shape, bool)
                second = np.zeros(shape, bool)
                for (a, b), k in zip(batch, frequencies):
                    in_a = (sp_rows == a[0]) & (sp_cols == a[1])
                    in_b = (sp_rows == b[0]) & (sp_cols == b[1])
                    region = in_a | in_b
                    base[region] = 2 * np.pi * (k[0] * rows[region] + k[1] * cols[region])
                    first |= in_a
                    second |= in_b
                where = far_field.origin + frequencies[:len(batch)] @ far_field.g.T
                if not exposed:
                    probe.show(gray=phase_to_gray(base, lut))
                    probe.autoexpose(target=0.1, points=where)
                    require_light("wavefront", probe.exposures)
                    exposed = True
                harmonic = np.zeros(len(batch), complex)
                for m in range(STEPS):
                    step = 2 * np.pi * m / STEPS
                    probe.show(gray=phase_to_gray(base + step * (HARMONIC_A * first + HARMONIC_B * second), lut))
                    values = ndimage.map_coordinates(probe.frame(average), where.T, order=1)
                    harmonic += values * np.exp(-1j * (HARMONIC_B - HARMONIC_A) * step)
                measurements += [(a, b, complex(h)) for (a, b), h in zip(batch, harmonic)]
    return measurements


def measure_wavefront(
    probe: BenchProbe, lut: np.ndarray, far_field: FarFieldMap, box: tuple[int, int, int, int], grid: int = 8,
    terms: int | None = None, spot_sigma_px: float = 0.35, reach: float = 0.4, min_signal: float = 0.05, average: int = 1,
    fringing_px: float = 0.0,
) -> WavefrontResult:
    """Measure the SLM wavefront error over ``box`` (row0, row1, col0, col1: the SLM area the models use,
    tiled ``grid`` x ``grid``; see the module doc); 48 .. 72 captures for ``grid=8``. Pairs whose
    interference is weaker than ``min_signal`` of the strongest (unlit corners) are left out; the others
    are weighted by their interference amplitude. ``spot_sigma_px``: the input spot (input pixels),
    small so that it lights the whole box. ``terms``: highest Noll index fitted (default :func:`default_terms`).
    ``reach``: the spots' largest blaze frequency (cycles/pixel), lowered under the SLM's crosstalk ``fringing_px``
    (sigma, pixels; from the fringing step) to :data:`REACH_TIMES_FRINGING` / sigma, not below 0.2."""
    shape = probe.slm_shape
    terms = default_terms(grid) if terms is None else int(terms)
    sp_rows, sp_cols = superpixel_index(shape, grid, box)
    superpixel_px = min(box[1] - box[0], box[3] - box[2]) / grid
    reach = min(reach, max(REACH_TIMES_FRINGING / max(fringing_px, 1e-9), 0.2))
    frequencies = _spot_frequencies(far_field, probe.bench.camera.shape, superpixel_px, reach)
    if frequencies.shape[0] == 0:
        raise fitting.FitError("no far-field spot position fits on the camera; use a coarser wavefront grid")
    probe.emission(True)
    probe.show(amplitude=probe.blob(sigma_px=spot_sigma_px))
    measurements = _pair_harmonics(probe, lut, far_field, sp_rows, sp_cols, grid, frequencies, average)
    amplitude = np.abs(np.array([h for _, _, h in measurements]))
    keep = amplitude >= min_signal * amplitude.max()
    kept = [m for m, k in zip(measurements, keep) if k]
    weight = amplitude[keep] / amplitude.max()
    observed = np.angle(np.array([h for _, _, h in kept]))
    # design: differences of the Zernike terms' superpixel means, pair by pair
    basis = zernike_basis(shape, terms, box)
    inside = sp_rows.ravel() >= 0
    labels = (sp_rows * grid + sp_cols).ravel()[inside]
    counts = np.bincount(labels, minlength=grid * grid)
    means = np.stack([np.bincount(labels, weights=z.ravel()[inside], minlength=grid * grid) / counts for z in basis], axis=1)
    design = np.array([means[b[0] * grid + b[1]] - means[a[0] * grid + a[1]] for a, b, _ in kept])
    coefficients, observed = _fit_wrapped(design, observed, weight)
    misfit = float(np.sqrt(np.average((design @ coefficients - observed) ** 2, weights=weight)))
    correction = -fitting.remove_plane(np.tensordot(coefficients, basis, axes=1), mask=sp_rows >= 0)
    usable = float(keep.mean())
    figures = exposure_figures("wavefront", probe.exposures, least_target=0.02) + [
        Figure("wavefront", "usable superpixel pairs", usable, 0.5, "min", "",
               "too few superpixel pairs interfere: the light does not cover the SLM area the models use",
               "make the input spot smaller (impulse mode) and check the SLM is evenly lit", ideal=1.0),
        Figure("wavefront", "fit misfit", misfit, 0.6, "max", "rad",
               "the Zernike terms do not explain the measured phase differences: a wavefront too strong or too fine for "
               "the superpixel grid (more than pi between neighbours), or the light drifted",
               "measure with a finer superpixel grid (measure_wavefront grid=12)"),
    ]
    return WavefrontResult(correction_rad=correction, coefficients=coefficients, differences=observed, misfit_rad=misfit,
                           usable_fraction=usable, figures=figures)


def _fit_wrapped(design: np.ndarray, observed: np.ndarray, weight: np.ndarray, rounds: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of ``observed`` phase differences (rad, wrapped to (-pi, pi]) on ``design``, each
    difference moved by whole turns onto the fit's prediction and refitted until none moves (a wavefront whose
    neighbour differences pass pi in a few places is still found); returns the coefficients and the unwrapped data."""
    coefficients = np.linalg.lstsq(design * weight[:, None], observed * weight, rcond=None)[0]
    for _ in range(rounds):
        turns = np.round((design @ coefficients - observed) / (2 * np.pi))
        if not turns.any():
            break
        observed = observed + 2 * np.pi * turns
        coefficients = np.linalg.lstsq(design * weight[:, None], observed * weight, rcond=None)[0]
    return coefficients, observed
