"""The simulated input modulator's response: device values -> the amplitude of each modulator pixel.

A value v in [0, 1] is quantised to the modulator's bits, ``q = rint(v (2**bits - 1)) / (2**bits - 1)``; the device
modulates the quantity its ``input.encoding`` names (amplitude, or intensity) as ``q**input_gamma`` (the response's
non-linearity; 1 = linear), and a dark pixel still transmits ``input_extinction`` e of the full-scale intensity
(finite contrast 1/e : 1; polariser leakage of an LC modulator, scatter of a DMD's off mirrors):

    intensity = e + (1 - e) I(q),   I(q) = q**(2 gamma) (amplitude encoding) or q**gamma (intensity encoding),

and the pixel's field amplitude is ``sqrt(intensity)`` (in phase with the bright light). With gamma 1 and e = 0 the
amplitude is ``q`` (amplitude) or ``sqrt(q)`` (intensity), computed as before.
"""

from __future__ import annotations

import numpy as np


def modulator_amplitude(values: np.ndarray, encoding: str, bit_depth: int, gamma: float = 1.0, extinction: float = 0.0) -> np.ndarray:
    """Field amplitude (float64, values' shape) of modulator pixels showing ``values`` in [0, 1] with ``bit_depth``
    bits, ``encoding`` ``"amplitude"`` or ``"intensity"``, response exponent ``gamma`` and dark-pixel intensity
    fraction ``extinction`` (module doc)."""
    levels = (1 << bit_depth) - 1
    q = np.rint(np.asarray(values, dtype=np.float64) * levels) / levels
    if gamma == 1.0 and extinction == 0.0:
        return q if encoding == "amplitude" else np.sqrt(q)
    response = q ** gamma
    intensity = response * response if encoding == "amplitude" else response
    return np.sqrt(extinction + (1.0 - extinction) * intensity)
