"""Template for a new SLM vendor: copy to ``drivers/<vendor>_slm.py`` and fill in the hooks.

Steps:
1. Rename ``TemplateSLM``; in ``__init__`` open the device with the vendor SDK (section.options holds
   vendor settings from the bench YAML) and check that its size, pitch and bit depth match the config.
2. Implement the hooks. The public :meth:`SLM.display` has already checked shape, integer dtype and range,
   retries transient faults and waits ``settle_s``; the hook only sends. Raise
   :class:`~osclc.drivers.errors.DeviceTimeout` / ``DeviceDisconnected`` / ``DeviceProtocolError`` (with the
   device name) for failures, never a bare vendor exception, and never block without a timeout.
3. Decorate the factory with ``@register_backend("slm", "<vendor>")``, add ``"<vendor>"`` to the ``backend``
   Literal of :class:`~osclc.drivers.bench_config.SLMConfig` and the module to
   :data:`osclc.drivers.backends.BACKEND_MODULES`. Before writing one, check whether slmsuite already
   drives the panel (then use the ``slmsuite`` backend).
"""

from __future__ import annotations

import numpy as np

from osclc.drivers.backends import BenchShared
from osclc.drivers.bench_config import SLMConfig
from osclc.drivers.slm import SLM


class TemplateSLM(SLM):
    """Skeleton of a vendor SLM backend (every hook raises NotImplementedError until written)."""

    def __init__(self, section: SLMConfig, shared: BenchShared) -> None:
        super().__init__("template-slm", section.shape, section.pitch_m, section.bit_depth, section.settle_s,
                         section.refresh_hz, shared.clock, shared.retry)

    def _display_hw(self, values: np.ndarray) -> None:
        raise NotImplementedError("send `values` (uint8/uint16, self.shape) to the panel, e.g. sdk.write_image(values, timeout_ms=...)")

    def _blank_hw(self) -> None:
        raise NotImplementedError("show the all-zero pattern, e.g. self._display_hw(np.zeros(self.shape, self.dtype))")

    def _close_hw(self) -> None:
        raise NotImplementedError("release the SDK handle (close the window / USB connection)")


def open_template_slm(section: SLMConfig, shared: BenchShared) -> TemplateSLM:
    """Factory for the registry: ``register_backend("slm", "<vendor>")(open_template_slm)``."""
    return TemplateSLM(section, shared)
