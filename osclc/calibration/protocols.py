"""The seams of calibration, as structural types: what measuring and executing need from an open bench, and
what the compiler needs from a folded student.

A :class:`typing.Protocol` names only the attributes used, so the compiler stays free of torch (a
``FoldedSCLC`` or ``FoldedFrontend``, one U-Net level, or any object with these attributes fits) and
measuring and execution run on any bench object with these devices (``osclc.drivers.bench.Bench``, simulated
and real alike).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.camera import Camera
from osclc.drivers.clock import Clock
from osclc.drivers.input_modulator import InputModulator
from osclc.drivers.laser import Laser
from osclc.drivers.slm import SLM


class OpenBench(Protocol):
    """An open bench: its config, clock and the four devices (the fields of ``osclc.drivers.bench.Bench``)."""

    @property
    def config(self) -> BenchConfig: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def laser(self) -> Laser: ...

    @property
    def input(self) -> InputModulator: ...

    @property
    def slm(self) -> SLM: ...

    @property
    def camera(self) -> Camera: ...


class TensorLike(Protocol):
    """An array on some device that can be brought to host memory (a ``torch.Tensor``)."""

    def detach(self) -> TensorLike: ...

    def cpu(self) -> TensorLike: ...

    def numpy(self) -> np.ndarray: ...


class FoldedOperator(Protocol):
    """A folded spectral frontend (``osclc.models.folding``): ``kernel`` ``K_eff[c_in, c_out, h, w]`` (complex,
    centred order) on the final h x w grid of a ``pad`` (P) window, for ``input_size`` (N) inputs; ``out_size``
    (h, w); ``detector`` the detector mode it was trained with ("intensity" for a camera)."""

    @property
    def kernel(self) -> np.ndarray | TensorLike: ...

    @property
    def pad(self) -> int: ...

    @property
    def input_size(self) -> int: ...

    @property
    def out_size(self) -> tuple[int, int]: ...

    @property
    def detector(self) -> str: ...
