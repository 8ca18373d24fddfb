"""Bounded L-BFGS against closed forms and SciPy's L-BFGS-B on problems with known minima (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from osclc.calibration.compiler.bounded_lbfgs import minimise


def _quadratic(seed: int, n: int, coupled: bool) -> tuple[np.ndarray, np.ndarray]:
    """A positive definite matrix (diagonal, or with random couplings; condition number ~30) and a centre."""
    rng = np.random.default_rng(seed)
    if coupled:
        q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        matrix = (q * rng.uniform(0.2, 6.0, n)) @ q.T
    else:
        matrix = np.diag(rng.uniform(0.2, 6.0, n))
    return matrix, rng.uniform(-2.0, 9.0, n)


def test_diagonal_quadratic_reaches_the_clipped_centre() -> None:
    """Separable: the constrained minimum is the centre clipped into the bounds (a third of it lies outside)."""
    matrix, centre = _quadratic(0, 400, coupled=False)
    diagonal = np.diag(matrix).astype(np.float32)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        d = x - centre.astype(np.float32)
        return float(0.5 * np.sum(diagonal * d * d, dtype=np.float64)), diagonal * d

    found = minimise(fun, np.full(400, 3.0), 0.0, 2 * np.pi, 60)
    np.testing.assert_allclose(found.x, np.clip(centre, 0.0, 2 * np.pi), atol=1e-4)
    assert found.iterations < 60  # stopped where no step decreases the objective any more


@pytest.mark.parametrize("seed", [1, 2])
def test_coupled_quadratic_matches_scipy(seed: int) -> None:
    """Non-separable: the same minimum (objective and point) as SciPy's L-BFGS-B run to its tolerance."""
    matrix, centre = _quadratic(seed, 120, coupled=True)

    def fun64(x: np.ndarray) -> tuple[float, np.ndarray]:
        d = x - centre
        return float(0.5 * d @ matrix @ d), matrix @ d

    def fun32(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = fun64(x.astype(np.float64))
        return value, gradient.astype(np.float32)

    reference = optimize.minimize(fun64, np.full(120, 3.0), jac=True, method="L-BFGS-B", bounds=optimize.Bounds(0.0, 2 * np.pi),
                                  options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000})
    found = minimise(fun32, np.full(120, 3.0), 0.0, 2 * np.pi, 400)
    assert found.x.min() >= 0.0 and found.x.max() <= np.float32(2 * np.pi)
    assert found.fun == pytest.approx(reference.fun, rel=1e-4, abs=1e-4)
    np.testing.assert_allclose(found.x, reference.x, atol=5e-3)


def test_rosenbrock_with_the_minimum_outside_the_bounds() -> None:
    """Non-convex (Rosenbrock in 10 variables, minimum at 1): with upper bound 0.5 the constrained minimum lies on
    the bound in the first variable; SciPy's L-BFGS-B finds the same point."""
    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        x64 = x.astype(np.float64)
        return float(optimize.rosen(x64)), optimize.rosen_der(x64).astype(np.float32)

    start = np.zeros(10)
    reference = optimize.minimize(optimize.rosen, start, jac=optimize.rosen_der, method="L-BFGS-B",
                                  bounds=optimize.Bounds(-1.5, 0.5), options={"ftol": 1e-15, "gtol": 1e-10})
    found = minimise(fun, start, -1.5, 0.5, 500)
    assert found.x[0] == pytest.approx(0.5)
    assert found.fun == pytest.approx(reference.fun, rel=1e-3)
    np.testing.assert_allclose(found.x, reference.x, atol=2e-2)
