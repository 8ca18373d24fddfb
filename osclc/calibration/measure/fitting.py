"""Small numerical pieces the calibrations share: affine least squares, spot centroids, phase from fringes."""

from __future__ import annotations

import numpy as np


class FitError(ValueError):
    """A fit that the measured data cannot support (too few points, no signal); the message says which."""


def fit_affine(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares 2x3 affine with ``dst ~ A[:, :2] @ src + A[:, 2]``; returns it and the RMS residual (dst units)."""
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if src.shape != dst.shape or src.shape[0] < 3:
        raise FitError(f"an affine fit needs >= 3 matching point pairs, got {src.shape[0]} and {dst.shape[0]}")
    design = np.concatenate([src, np.ones((src.shape[0], 1))], axis=1)
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
    residual = dst - design @ solution
    return solution.T.copy(), float(np.sqrt(np.mean(np.sum(residual**2, axis=1))))


def centroid(image: np.ndarray, center: np.ndarray, radius: float) -> tuple[np.ndarray, float]:
    """Intensity centroid (row, col) of ``image`` in a disc of ``radius`` pixels around ``center``, and its summed power.

    The window's median (the local background) is subtracted and negative values dropped, so a
    constant pedestal does not pull the centroid towards the window centre.
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
    weights = np.where(inside, patch - np.median(patch[inside]), 0.0).clip(min=0.0)
    total = float(weights.sum())
    if total <= 0.0:
        raise FitError(f"no light in the spot window at ({r0:.1f}, {c0:.1f}); check the laser, exposure and alignment")
    return np.array([(weights * rr).sum() / total, (weights * cc).sum() / total]), total


def refine_centroid(image: np.ndarray, guess: np.ndarray, radius: float, iterations: int = 3) -> np.ndarray:
    """Centroid re-centred ``iterations`` times on its own estimate (removes the bias of an off-centre window)."""
    point = np.asarray(guess, dtype=np.float64)
    for _ in range(iterations):
        point, _ = centroid(image, point, radius)
    return point


def peak(image: np.ndarray, exclude: list[tuple[np.ndarray, float]] | None = None) -> np.ndarray:
    """(row, col) of the brightest pixel of ``image`` outside the discs ``exclude`` = [(centre, radius), ...]."""
    work = np.asarray(image, dtype=np.float64).copy()
    if exclude:
        rr, cc = np.indices(work.shape)
        for center, radius in exclude:
            work[(rr - center[0]) ** 2 + (cc - center[1]) ** 2 <= radius**2] = -np.inf
    return np.array(np.unravel_index(int(np.argmax(work)), work.shape), dtype=np.float64)


def phase_from_quadrature(cos_part: np.ndarray, sin_part: np.ndarray) -> np.ndarray:
    """Unwrapped phase (radians) of a sequence of (cos, sin) estimates, starting in (-pi, pi]."""
    return np.unwrap(np.arctan2(sin_part, cos_part))


def remove_plane(phase: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``phase`` minus its least-squares piston and tilt (over ``mask``, default everywhere)."""
    rows, cols = phase.shape
    rr, cc = np.indices(phase.shape, dtype=np.float64)
    sel = np.ones(phase.shape, bool) if mask is None else mask
    design = np.stack([np.ones(sel.sum()), rr[sel] - rows / 2, cc[sel] - cols / 2], axis=1)
    coef, *_ = np.linalg.lstsq(design, phase[sel], rcond=None)
    return phase - (coef[0] + coef[1] * (rr - rows / 2) + coef[2] * (cc - cols / 2))
