"""Light on the simulated camera that the image does not account for: the laser's slow power drift, and stray light.

- Drift: the emitted power changes linearly with the bench clock, ``P(t) = P_set max(0, 1 + r t)`` with
  ``r = laser_drift_per_s`` (1/s) and t the seconds since the bench opened (the laser still reports ``P_set``: only
  the light drifts). An exposure sees the power at its middle (the mean of a linear drift).
- Stray light: reflections and scatter (cover glasses, lens mounts, room light through the optics) put a smooth
  background on the sensor, proportional to the laser power: ``stray_light`` times the irradiance a fully lit input
  gives in its image (electrons per output sample per unit ``|field|^2``, i.e. ``photons_per_unit * QE``), with a
  linear slope ``stray_light_tilt`` across the sensor's columns: ``level (1 + tilt (2 col / (cols - 1) - 1))``.
"""

from __future__ import annotations

import numpy as np


def drift_factor(rate_per_s: float, elapsed_s: float) -> float:
    """``max(0, 1 + rate_per_s * elapsed_s)``: the laser power relative to its set point ``elapsed_s`` (s) after the
    bench opened (``rate_per_s`` in 1/s)."""
    return max(0.0, 1.0 + rate_per_s * elapsed_s)


def stray_light_profile(columns: int, tilt: float) -> np.ndarray:
    """The stray light's relative level across ``columns`` sensor columns, ``1 + tilt (2 col / (cols - 1) - 1)``
    (mean 1; a single column gets 1)."""
    ramp = np.linspace(-1.0, 1.0, columns) if columns > 1 else np.zeros(1)
    return 1.0 + tilt * ramp
