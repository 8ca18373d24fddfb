"""The SCLC student: linear spectral frontend -> detector -> electronic backend.

``SCLC.features(x)`` is what the camera and readout give (detector output [B, C, h, w]);
``SCLC.backend(features)`` the logits. Variants (``from_plan``):

* ``sclc``: the teacher's plan with ReLU removed and max-pool replaced by spectral pooling
  (``SpectralFrontend``: one padded frequency grid, foldable into one optical pass);
* ``sclc_maxpool``: the paper's ablation, max-pool instead of spectral pool (``MaxPoolFrontend``,
  not foldable);
* ``backend_only``: no layers (an empty ``SpectralFrontend`` with P = N: the field is the
  input itself, i.e. a flat mask on the bench), detector, backend.

With detector ``none`` (or ``field``) and a linear backend the whole model is ONE linear map of
the input pixels (plus a bias): the frontend is linear, so depth adds no expressive power,
only a structured (low-rank, band-limited) parameterisation of that map; the camera's square
law (``intensity``) is the only nonlinearity a bench gives for free.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from osclc.models.layers.backend import Backend, BackendKind
from osclc.models.layers.detector import Detector, DetectorMode, detector_channels
from osclc.models.networks.frontend import MaxPoolFrontend, SpectralFrontend
from osclc.models.networks.plan import NetworkPlan
from osclc.models.layers.spectral_conv import KernelKind
from osclc.models.layers.spectral_pool import NyquistMode

StudentVariant = Literal["sclc", "sclc_maxpool", "backend_only"]


class SCLC(nn.Module):
    """Student network ``backend(detector(frontend(x)))``."""

    def __init__(self, frontend: SpectralFrontend | MaxPoolFrontend, detector: Detector, backend: Backend) -> None:
        super().__init__()
        self.frontend, self.detector, self.backend = frontend, detector, backend

    @classmethod
    def from_plan(
        cls,
        plan: NetworkPlan,
        in_channels: int,
        image_size: int,
        num_classes: int,
        variant: StudentVariant = "sclc",
        detector: DetectorMode = "intensity",
        backend: BackendKind = "linear",
        hidden: int = 128,
        kernel: KernelKind = "spatial",
        nyquist: NyquistMode = "keep",
        pad: int | None = None,
    ) -> SCLC:
        """Build a student variant for ``plan`` (see module docstring)."""
        if variant != "sclc" and (kernel != "spatial" or pad is not None):
            raise ValueError(f"student: spectral_kernel={kernel!r} / pad={pad} apply to variant 'sclc' only, not {variant!r}; leave them unset")
        if variant == "sclc":
            frontend: SpectralFrontend | MaxPoolFrontend = SpectralFrontend.from_plan(plan, in_channels, image_size, kernel, nyquist, pad)
        elif variant == "sclc_maxpool":
            frontend = MaxPoolFrontend(plan, in_channels, image_size)
        elif variant == "backend_only":
            frontend = SpectralFrontend(in_channels, image_size, image_size, [])
        else:
            raise ValueError(f"student: variant={variant!r}; use sclc, sclc_maxpool or backend_only")
        complex_field = isinstance(frontend, SpectralFrontend)
        channels = detector_channels(detector, frontend.out_channels, complex_field)
        head = Backend(channels, frontend.out_size, frontend.out_size, num_classes, backend, hidden)
        return cls(frontend, Detector(detector), head)

    def field(self, x: torch.Tensor) -> torch.Tensor:
        """Frontend output field [B, C_out, h, w] (complex for spectral frontends)."""
        return self.frontend(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Detector output [B, C, h, w]: what the camera and readout give."""
        return self.detector(self.frontend(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images [B, C_in, N, N] (amplitude in [0, 1]) -> logits [B, num_classes]."""
        return self.backend(self.features(x))
