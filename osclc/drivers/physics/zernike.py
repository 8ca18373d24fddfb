"""Zernike polynomials in Noll order, RMS-normalised over the unit disk (for the cover-glass wavefront)."""

from __future__ import annotations

from math import factorial

import numpy as np


def noll_to_nm(j: int) -> tuple[int, int]:
    """Radial order n and azimuthal frequency m of Noll index ``j`` >= 1 (j=1 piston, 2/3 tilts, 4 defocus)."""
    if j < 1:
        raise ValueError(f"Noll index must be >= 1, got {j}")
    n, rest = 0, j - 1
    while rest > n:
        n += 1
        rest -= n
    m = (-1) ** j * ((n % 2) + 2 * ((rest + ((n + 1) % 2)) // 2))
    return n, m


def zernike(j: int, rho: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Z_j(rho, theta) with unit RMS over the unit disk (rho in [0, 1], theta in rad)."""
    n, m = noll_to_nm(j)
    radial = np.zeros_like(rho)
    for k in range((n - abs(m)) // 2 + 1):
        coeff = (-1) ** k * factorial(n - k) / (factorial(k) * factorial((n + abs(m)) // 2 - k) * factorial((n - abs(m)) // 2 - k))
        radial = radial + coeff * rho ** (n - 2 * k)
    if m == 0:
        return np.sqrt(n + 1) * radial
    angular = np.cos(m * theta) if m > 0 else np.sin(-m * theta)
    return np.sqrt(2 * (n + 1)) * radial * angular


def wavefront_map(shape: tuple[int, int], coefficients: dict[int, float]) -> np.ndarray:
    """Sum of ``coefficients[j] * Z_j`` (rad) on a ``shape`` pixel grid; the unit circle passes through the
    grid's corner pixel centres, its centre is the pixel (rows//2, cols//2); x = column, y = row, theta from +x."""
    rows, cols = shape
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
    y -= rows // 2
    x -= cols // 2
    radius = float(np.hypot(max(rows // 2, rows - 1 - rows // 2), max(cols // 2, cols - 1 - cols // 2))) or 1.0
    rho = np.hypot(x, y) / radius
    theta = np.arctan2(y, x)
    total = np.zeros(shape)
    for j, c in sorted(coefficients.items()):
        if c:
            total += c * zernike(j, rho, theta)
    return total
