"""Small numerical pieces the calibrations share: outlier-robust affine fits, spot centroids, plane removal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

MAD_TO_SIGMA = 1.4826  # median absolute deviation -> standard deviation of a normal distribution


class FitError(ValueError):
    """A fit that the measured data cannot support (too few points, no signal); the message says which."""


@dataclass(frozen=True)
class AffineFit:
    """A 2x3 ``affine`` (``dst ~ A[:, :2] @ src + A[:, 2]``), the RMS residual of the points it kept (``rms``, dst
    units), which points it kept (``inliers``, bool [n]) and the condition number of its 2x2 part (``condition``)."""

    affine: np.ndarray
    rms: float
    inliers: np.ndarray
    condition: float


def _lstsq_affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    design = np.concatenate([src, np.ones((src.shape[0], 1))], axis=1)
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
    return solution.T.copy()


def fit_affine(src: np.ndarray, dst: np.ndarray, reject: float = 4.0, floor: float = 0.05, min_points: int = 3) -> AffineFit:
    """Outlier-robust least-squares affine: fit, drop the points whose residual exceeds ``reject`` robust standard
    deviations (median absolute deviation of the residuals, at least ``floor`` dst units), refit, until no point
    changes side. Raises :class:`FitError` when fewer than ``min_points`` pairs remain or the sources are collinear."""
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if src.shape != dst.shape or src.shape[0] < max(3, min_points):
        raise FitError(f"an affine fit needs >= {max(3, min_points)} matching point pairs, got {src.shape[0]} and {dst.shape[0]}")
    spread = np.linalg.svd(src - src.mean(axis=0), compute_uv=False)
    if spread[-1] <= 1e-9 * max(spread[0], 1e-300):
        raise FitError("the source points of an affine fit lie on a line; they cannot fix a 2-D map")
    keep = np.ones(src.shape[0], bool)
    for _ in range(src.shape[0]):
        affine = _lstsq_affine(src[keep], dst[keep])
        residual = np.hypot(*(dst - src @ affine[:, :2].T - affine[:, 2]).T)
        limit = max(reject * MAD_TO_SIGMA * float(np.median(residual[keep])), floor)
        new = residual <= limit
        if new.sum() < max(3, min_points):
            raise FitError(f"only {int(new.sum())} of {src.shape[0]} points agree with one affine map (residual <= {limit:.3g})")
        if np.array_equal(new, keep):
            break
        keep = new
    singular = np.linalg.svd(affine[:, :2], compute_uv=False)
    condition = float(singular[0] / singular[1]) if singular[1] > 0 else float("inf")
    return AffineFit(affine, float(np.sqrt(np.mean(residual[keep] ** 2))), keep, condition)


def centroid(image: np.ndarray, center: np.ndarray, radius: float, background: str = "median") -> tuple[np.ndarray, float]:
    """Intensity centroid (row, col) of ``image`` in a disc of ``radius`` pixels around ``center``, and its summed power.

    ``background="median"``: the window's median (the local pedestal) is subtracted and negative values dropped,
    for compact spots. ``"none"``: every value counts as it is (dark-subtracted frames, and spots compared in one
    common window, whose background then acts alike on each).
    """
    rows, cols = image.shape
    r0, c0 = float(center[0]), float(center[1])
    lo_r, hi_r = max(int(np.floor(r0 - radius)), 0), min(int(np.ceil(r0 + radius)) + 1, rows)
    lo_c, hi_c = max(int(np.floor(c0 - radius)), 0), min(int(np.ceil(c0 + radius)) + 1, cols)
    if lo_r >= hi_r or lo_c >= hi_c:
        raise FitError(f"spot window at {center} (radius {radius}) is outside the {rows}x{cols} camera frame")
    patch = np.asarray(image[lo_r:hi_r, lo_c:hi_c], dtype=np.float64)
    rr, cc = np.mgrid[lo_r:hi_r, lo_c:hi_c]
    inside = (rr - r0) ** 2 + (cc - c0) ** 2 <= radius**2
    if not inside.any():
        raise FitError(f"spot window at {center} (radius {radius}) holds no camera pixel")
    if background == "none":
        weights = np.where(inside, patch, 0.0)
    else:
        weights = np.where(inside, patch - np.median(patch[inside]), 0.0).clip(min=0.0)
    total = float(weights.sum())
    if total <= 0.0:
        raise FitError(f"no light in the spot window at ({r0:.1f}, {c0:.1f}); check the laser, exposure and alignment")
    return np.array([(weights * rr).sum() / total, (weights * cc).sum() / total]), total


def refine_centroid(image: np.ndarray, guess: np.ndarray, radius: float, iterations: int = 3, background: str = "median") -> np.ndarray:
    """Centroid re-centred ``iterations`` times on its own estimate (removes the bias of an off-centre window)."""
    point = np.asarray(guess, dtype=np.float64)
    for _ in range(iterations):
        point, _ = centroid(image, point, radius, background)
    return point


def peak(image: np.ndarray, exclude: list[tuple[np.ndarray, float]] | None = None) -> np.ndarray:
    """(row, col) of the brightest spot of ``image`` outside the discs ``exclude`` = [(centre, radius), ...]; the image
    is averaged over 3 x 3 pixels first, so an isolated hot pixel counts for a ninth of its value (a spot of a few
    pixels keeps most of its own, and a one-pixel spot still shows)."""
    work = ndimage.uniform_filter(np.asarray(image, dtype=np.float64), size=3, mode="constant")
    if exclude:
        rr, cc = np.indices(work.shape)
        for center, radius in exclude:
            work[(rr - center[0]) ** 2 + (cc - center[1]) ** 2 <= radius**2] = -np.inf
    return np.array(np.unravel_index(int(np.argmax(work)), work.shape), dtype=np.float64)


def remove_plane(phase: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``phase`` minus its least-squares piston and tilt (over ``mask``, default everywhere)."""
    rows, cols = phase.shape
    rr, cc = np.indices(phase.shape, dtype=np.float64)
    sel = np.ones(phase.shape, bool) if mask is None else mask
    design = np.stack([np.ones(sel.sum()), rr[sel] - rows / 2, cc[sel] - cols / 2], axis=1)
    coef, *_ = np.linalg.lstsq(design, phase[sel], rcond=None)
    return phase - (coef[0] + coef[1] * (rr - rows / 2) + coef[2] * (cc - cols / 2))
