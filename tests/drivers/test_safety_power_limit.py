"""The laser's power limit is fixed when it opens: no attribute, __dict__ entry, private name or config change raises it."""

from __future__ import annotations

import pytest

from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.errors import InvalidSetting


def _refuses_50_mw(bench) -> None:
    with pytest.raises(InvalidSetting, match=r"power_mw must be in \[0, 5\] mW"):
        bench.laser.set_power_mw(50.0)
    assert bench.laser.power_mw() == 1.0 and bench.laser.max_power_mw == 5.0


def test_the_limit_is_a_read_only_attribute() -> None:
    with open_bench(BenchConfig(), emission=True) as bench:
        with pytest.raises(AttributeError, match="max_power_mw is fixed at 5 mW.*bench config"):
            bench.laser.max_power_mw = 100
        _refuses_50_mw(bench)


@pytest.mark.parametrize("route", ["__dict__", "object.__setattr__", "private names", "config"])
def test_no_other_route_changes_what_set_power_enforces(route: str) -> None:
    with open_bench(BenchConfig(), emission=True) as bench:
        laser = bench.laser
        if route == "__dict__":
            laser.__dict__["max_power_mw"] = 100.0
        elif route == "object.__setattr__":
            with pytest.raises(AttributeError):
                object.__setattr__(laser, "max_power_mw", 100.0)
        elif route == "private names":
            for name in ("_max_power_mw", "_Laser__max_power_mw", "_limit", "limit", "max_power"):
                setattr(laser, name, 100.0)
        else:
            bench.config.laser.max_power_mw = 100.0
            bench.shared.config.laser.max_power_mw = 100.0
        _refuses_50_mw(bench)


def test_the_limit_cannot_be_reset_by_calling_init_again() -> None:
    from osclc.drivers.laser import Laser

    with open_bench(BenchConfig()) as bench:
        with pytest.raises(InvalidSetting, match="fixed when the laser opens"):
            Laser.__init__(bench.laser, "sim-laser", 100.0)
        _refuses_50_mw(bench)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "5", True, None])
def test_a_bad_limit_is_refused_when_the_laser_opens(bad) -> None:
    from osclc.drivers.bench_config import FaultsConfig
    from osclc.drivers.sim.laser import SimulatedLaser

    with pytest.raises(InvalidSetting, match="max_power_mw must be a finite number > 0 mW"):
        SimulatedLaser("sim-laser", bad, FaultsConfig(), 1.0)
