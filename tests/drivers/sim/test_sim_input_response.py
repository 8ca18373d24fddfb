"""The simulated input modulator's finite contrast and non-linearity against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.sim.input_response import modulator_amplitude


def test_modulator_amplitude_closed_form() -> None:
    values = np.linspace(0, 1, 11)
    q = np.rint(values * 255) / 255
    assert np.array_equal(modulator_amplitude(values, "amplitude", 8), q)
    assert np.array_equal(modulator_amplitude(values, "intensity", 8), np.sqrt(q))
    e, g = 0.004, 1.3
    assert np.allclose(modulator_amplitude(values, "amplitude", 8, g, e), np.sqrt(e + (1 - e) * q ** (2 * g)), rtol=1e-15)
    assert np.allclose(modulator_amplitude(values, "intensity", 8, g, e), np.sqrt(e + (1 - e) * q ** g), rtol=1e-15)


def _uniform_totals(cfg, levels: list[float]) -> list[float]:
    totals = []
    with open_bench(cfg, emission=True) as bench:
        for level in levels:
            bench.input.show(np.full(cfg.input.shape, level))
            totals.append(float(bench.camera.capture().image.astype(np.float64).sum()))
    return totals


@pytest.mark.parametrize("encoding", ["amplitude", "intensity"])
def test_dark_input_leaks_the_extinction_fraction(make_config, encoding: str) -> None:
    """Contrast 500:1: a dark input puts 1/500 of a full-scale input's power on the camera."""
    dark, bright = _uniform_totals(make_config(imp__input_extinction=0.002, input__encoding=encoding), [0.0, 1.0])
    assert dark / bright == pytest.approx(0.002, rel=1e-5)
    assert _uniform_totals(make_config(input__encoding=encoding), [0.0])[0] == 0.0


@pytest.mark.parametrize("encoding, exponent", [("amplitude", 2.0), ("intensity", 1.0)])
def test_input_gamma_bends_the_response(make_config, encoding: str, exponent: float) -> None:
    """Uniform amplitude level a: the device gets v = a (amplitude modulation) or a^2 (intensity modulation, the
    driver squares), quantised to q; power ratio to full scale e + (1 - e) q^(gamma * 2), resp. q^gamma."""
    gamma, e = 1.4, 0.001
    levels = np.array([0.25, 0.5, 0.8, 1.0])
    totals = _uniform_totals(make_config(imp__input_gamma=gamma, imp__input_extinction=e, input__encoding=encoding), list(levels))
    sent = levels if encoding == "amplitude" else levels ** 2
    q = np.rint(sent * 255) / 255
    assert np.allclose(np.array(totals) / totals[-1], e + (1 - e) * q ** (gamma * exponent), rtol=1e-5)
