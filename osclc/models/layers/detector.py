"""The detector stage between the optical frontend and the electronic backend.

Modes (input: the frontend's output field, complex or real, [B, C, h, w]):

* ``intensity``: ``|b|**2`` -> [B, C, h, w]. What a camera measures; the square law is the only
  nonlinearity the bench gives for free. The default for anything that runs on a bench.
* ``field``: an idealised coherent readout of the whole amplitude: real and imaginary parts
  as two channel blocks ``[Re b_0..Re b_{C-1}, Im b_0..Im b_{C-1}]`` -> [B, 2C, h, w] for a
  complex field; a real field passes unchanged [B, C, h, w].
* ``none``: the paper's purely linear SCLC: the real part ``Re b`` -> [B, C, h, w] (what an
  inverse-FFT spectral CNN hands to its fully connected layer).

With ``field`` or ``none`` the detector is linear (over the reals), so frontend + linear backend
is a single linear map of the input pixels (a linear classifier with a structured weight);
only ``intensity`` (or an MLP backend) makes the model nonlinear.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

DetectorMode = Literal["intensity", "field", "none"]
DETECTOR_MODES: tuple[str, ...] = ("intensity", "field", "none")


def detector_channels(mode: str, channels: int, complex_field: bool = True) -> int:
    """Channels the detector hands to the backend for ``channels`` field channels."""
    return 2 * channels if (mode == "field" and complex_field) else channels


class Detector(nn.Module):
    """Field [B, C, h, w] -> real features (see module docstring for the modes)."""

    def __init__(self, mode: DetectorMode = "intensity") -> None:
        super().__init__()
        if mode not in DETECTOR_MODES:
            raise ValueError(f"detector: mode={mode!r}; use one of {', '.join(DETECTOR_MODES)}")
        self.mode: DetectorMode = mode

    def extra_repr(self) -> str:
        return repr(self.mode)

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        """Real features of the field (float dtype matching the field's)."""
        if self.mode == "intensity":
            return (field * field.conj()).real if field.is_complex() else field.square()
        if not field.is_complex():
            return field
        if self.mode == "field":
            return torch.cat((field.real, field.imag), dim=1)
        return field.real
