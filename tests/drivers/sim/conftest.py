"""Helpers of the simulated-bench effect tests: configs by dotted overrides, and the closed-form photometry."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from osclc.drivers.bench_config import BenchConfig

H_J_S, C_M_S = 6.62607015e-34, 299792458.0


def config_with(**overrides: object) -> BenchConfig:
    """The ideal bench with ``section__field=value`` overrides (``imp__x`` for ``simulation.imperfections.x``)."""
    data = BenchConfig().model_dump()
    for dotted, value in overrides.items():
        keys = dotted.replace("imp__", "simulation__imperfections__").split("__")
        node = data
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return BenchConfig.model_validate(data)


def electrons_per_unit(cfg: BenchConfig, power_mw: float | None = None) -> float:
    """Electrons per output sample for |field|^2 = 1 (normalised field) in one exposure, from the config alone:
    ``P * throughput * d^2 / (modulator area) * T / (h c / lambda) * QE`` with d = lambda f1 / (Q p_slm)."""
    d = cfg.optics.wavelength_m * cfg.optics.f1_m / (cfg.slm.shape[0] * cfg.slm.pitch_m)
    area = cfg.input.shape[0] * cfg.input.shape[1] * cfg.input.pitch_m ** 2
    power_w = (cfg.laser.power_mw if power_mw is None else power_mw) * 1e-3
    photons = power_w * cfg.simulation.throughput * d * d / area * cfg.camera.exposure_s / (H_J_S * C_M_S / cfg.optics.wavelength_m)
    return photons * cfg.camera.quantum_efficiency


@pytest.fixture(scope="session")
def make_config() -> Callable[..., BenchConfig]:
    """:func:`config_with`."""
    return config_with


@pytest.fixture(scope="session")
def unit_electrons() -> Callable[..., float]:
    """:func:`electrons_per_unit`."""
    return electrons_per_unit
