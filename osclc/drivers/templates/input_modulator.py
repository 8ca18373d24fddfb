"""Template for a new input-modulator vendor (amplitude SLM, DMD): copy to ``drivers/<vendor>_input.py``.

Steps:
1. Rename ``TemplateInputModulator``; open the device in ``__init__`` (settings in ``section.options``) and
   choose ``encoding``: ``"amplitude"`` if the device's response is linear in field amplitude,
   ``"intensity"`` if linear in intensity (DMDs with grey-scale dithering): the base class then sends
   ``amplitude**2`` so the field is what the caller asked for.
2. Implement the hooks. :meth:`InputModulator.show` has already checked shape, NaN and the [0, 1] range and
   waits ``settle_s``. Convert the float32 values in [0, 1] to the device's levels
   (``np.rint(values * (2**bit_depth - 1))``) in the hook. Raise the errors of
   :mod:`osclc.drivers.errors` naming the device; never block without a timeout.
3. Register the factory with ``@register_backend("input", "<vendor>")``, add the name to the ``backend`` Literal
   of :class:`~osclc.drivers.bench_config.InputConfig` and the module to ``BACKEND_MODULES``.
"""

from __future__ import annotations

import numpy as np

from osclc.drivers.backends import BenchShared
from osclc.drivers.bench_config import InputConfig
from osclc.drivers.input_modulator import InputModulator


class TemplateInputModulator(InputModulator):
    """Skeleton of a vendor input-modulator backend (every hook raises NotImplementedError until written)."""

    def __init__(self, section: InputConfig, shared: BenchShared) -> None:
        super().__init__("template-input", section.shape, section.pitch_m, section.encoding, section.bit_depth,
                         section.settle_s, shared.clock, shared.retry)

    def _show_hw(self, values: np.ndarray) -> None:
        raise NotImplementedError("quantise `values` (float32 in [0, 1]) to device levels and send them with a timeout")

    def _blank_hw(self) -> None:
        raise NotImplementedError("show an all-dark frame (all mirrors off / gray level 0)")

    def _close_hw(self) -> None:
        raise NotImplementedError("release the device handle")


def open_template_input(section: InputConfig, shared: BenchShared) -> TemplateInputModulator:
    """Factory for the registry: ``register_backend("input", "<vendor>")(open_template_input)``."""
    return TemplateInputModulator(section, shared)
