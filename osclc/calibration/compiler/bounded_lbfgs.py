"""Limited-memory BFGS within bounds, for objectives of a few hundred thousand variables and a cheap gradient.

SciPy's L-BFGS-B spends far longer per iteration than the crosstalk objective it minimises (its generalised
Cauchy point and subspace step, in double precision, for ~3e5 variables: on the 1920 x 1152 benchmark mask, on
the loaded 2-core build VM, 300-450 ms per iteration besides the objective's 19-28 ms; this one 8 ms). This is the
projected quasi-Newton method of Kim, Sra and Dhillon (SIAM J. Sci. Comput. 32, 3548 (2010)) with the L-BFGS
two-loop recursion (Nocedal and Wright, Numerical Optimization, algorithm 7.4) in a few single-precision vector
operations per iteration:

- a variable at a bound whose gradient points out of the box is held (its direction component is 0);
- the direction is the L-BFGS product ``-H g`` on the other (free) variables, scaled by ``s.y / y.y``; the first
  one is the steepest descent of unit length, like L-BFGS-B's first step;
- the step is projected onto the bounds and backtracked (halved) until it decreases the objective by the Armijo
  fraction of its projected first-order change; a pair (s, y) enters the memory only with positive curvature;
- each accepted step counts as an iteration; a direction along which no step decreases the objective costs its
  evaluations but no iteration.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

ARMIJO = 1e-4
"""Fraction of the first-order decrease a step must achieve."""
MEMORY = 5
"""(s, y) pairs kept: more did not converge faster on the crosstalk objective (SciPy's L-BFGS-B with 10, 30 and 60
reached the same loss at every iteration), and each costs two passes over the variables per iteration."""
SHORTEST_STEP = 1e-4
"""Backtracking gives up below this fraction of the proposed step: the memory is then dropped and steepest descent
tried; where that fails too, the minimisation ends (at a minimum, to single precision)."""


@dataclass(frozen=True)
class Minimum:
    """Where the minimisation ended: ``x``, the objective there, and the iterations (accepted steps) taken."""

    x: np.ndarray
    fun: float
    iterations: int


def _steepest(gradient: np.ndarray, free: np.ndarray) -> np.ndarray:
    """The steepest descent on the free variables, of unit length."""
    d = np.where(free, -gradient, np.float32(0.0))
    d *= np.float32(1.0 / max(float(np.linalg.norm(d)), 1e-30))
    return d


def _direction(gradient: np.ndarray, free: np.ndarray, memory: deque[tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """``-H g`` on the free variables (0 on the held ones): the two-loop recursion over ``memory`` (s, y, 1 / s.y;
    oldest first), with the initial Hessian ``y.y / s.y`` of the newest pair."""
    q = np.where(free, gradient, np.float32(0.0))
    scratch = np.empty_like(q)
    alphas = []
    for s, y, rho in reversed(memory):
        alpha = rho * float(s @ q)
        q -= np.multiply(y, np.float32(alpha), out=scratch)
        alphas.append(alpha)
    _, y_new, rho_new = memory[-1]
    q *= np.float32(-1.0 / (rho_new * float(y_new @ y_new)))
    for (s, y, rho), alpha in zip(memory, reversed(alphas)):
        q -= np.multiply(s, np.float32(alpha + rho * float(y @ q)), out=scratch)
    q[~free] = 0.0
    return q


def minimise(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray, lower: float, upper: float,
    iterations: int, memory: int = MEMORY,
) -> Minimum:
    """Minimise ``fun`` (returning the objective and its float32 gradient) over ``lower <= x <= upper`` from ``x0``
    (clipped into the bounds; single precision, like the gradient), for at most ``iterations`` accepted steps,
    keeping ``memory`` (s, y) pairs."""
    lo, hi = np.float32(lower), np.float32(upper)
    x = np.clip(np.asarray(x0, dtype=np.float32), lo, hi)
    f, g = fun(x)
    pairs: deque[tuple[np.ndarray, np.ndarray, float]] = deque(maxlen=memory)
    done = 0
    while done < iterations:
        held = (x <= lo) & (g > 0)
        held |= (x >= hi) & (g < 0)
        free = ~held
        d = _direction(g, free, pairs) if pairs else _steepest(g, free)
        if float(g @ d) >= 0.0:  # not a descent direction on the free variables: start the memory afresh
            pairs.clear()
            d = _steepest(g, free)
        step = np.float32(1.0)
        while step >= SHORTEST_STEP:
            x_new = d * step
            x_new += x
            np.clip(x_new, lo, hi, out=x_new)
            s = x_new - x
            f_new, g_new = fun(x_new)
            if f_new < f and f_new <= f + ARMIJO * float(g @ s):
                break
            step *= np.float32(0.5)
        if step < SHORTEST_STEP:  # no decrease along this direction: retry from steepest descent, else converged
            if not pairs:
                return Minimum(x, f, done)
            pairs.clear()
            continue
        y = g_new - g
        curvature = float(s @ y)
        if curvature > 1e-12 * float(y @ y):
            pairs.append((s, y, 1.0 / curvature))
        x, f, g = x_new, f_new, g_new
        done += 1
    return Minimum(x, f, done)
