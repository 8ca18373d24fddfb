"""Template for a new laser vendor: copy to ``drivers/<vendor>_laser.py`` and fill in the hooks.

Steps:
1. Rename ``TemplateLaser``; open the port / VISA resource in ``__init__`` with ``section.timeout_s`` as the
   timeout of every query, check ``*IDN?`` (or the vendor's equivalent) names the expected model.
2. Implement the hooks. :meth:`Laser.set_power_mw` has already refused NaN, negative and over-maximum
   powers; :meth:`Laser.set_emission` checks the interlock before switching on; :meth:`Laser.close` always
   calls ``_set_emission_hw(False)``. Keep the command strings in one table (like
   ``osclc/drivers/vendors/scpi_commands.py``), read the error queue after each set, and raise
   :class:`~osclc.drivers.errors.DeviceProtocolError` for error replies, ``DeviceTimeout`` for no reply.
3. Register with ``@register_backend("laser", "<vendor>")``, add the name to the ``backend`` Literal of
   :class:`~osclc.drivers.bench_config.LaserConfig` and the module to ``BACKEND_MODULES``.
"""

from __future__ import annotations

from osclc.drivers.backends import BenchShared
from osclc.drivers.bench_config import LaserConfig
from osclc.drivers.laser import Laser, LaserStatus


class TemplateLaser(Laser):
    """Skeleton of a vendor laser backend (every hook raises NotImplementedError until written)."""

    def __init__(self, section: LaserConfig, shared: BenchShared) -> None:
        super().__init__("template-laser", section.max_power_mw, shared.clock, shared.retry)

    def _identity_hw(self) -> str:
        raise NotImplementedError("query the identification string, e.g. '*IDN?'")

    def _set_power_hw(self, mw: float) -> None:
        raise NotImplementedError("send the power setpoint (convert mW to the unit the laser expects, e.g. W)")

    def _power_hw(self) -> float:
        raise NotImplementedError("query the power setpoint and return it in mW")

    def _set_emission_hw(self, on: bool) -> None:
        raise NotImplementedError("switch emission on/off, e.g. 'SOUR:AM:STAT ON'")

    def _status_hw(self) -> LaserStatus:
        raise NotImplementedError("query emission, power, interlock and the fault list; return LaserStatus(...)")

    def _close_hw(self) -> None:
        raise NotImplementedError("close the port / VISA session")


def open_template_laser(section: LaserConfig, shared: BenchShared) -> TemplateLaser:
    """Factory for the registry: ``register_backend("laser", "<vendor>")(open_template_laser)``."""
    return TemplateLaser(section, shared)
