"""The serial (OBIS) laser driver against the simulated OBIS on a pseudo-terminal, faults injected.

The simulator's state (``sim.emitting``, ``sim.power_w``, ``sim.commands``) is read directly, so
every check is independent of what the driver believes.
"""

from __future__ import annotations

import os

import pytest

if os.name != "posix":  # pragma: no cover
    pytest.skip("the simulated OBIS needs a POSIX pseudo-terminal", allow_module_level=True)

from osclc.drivers.errors import DeviceDisconnected, DeviceError, DeviceProtocolError, DeviceTimeout, InterlockOpen, InvalidSetting  # noqa: E402
from osclc.drivers.retry import RetryPolicy  # noqa: E402
from osclc.drivers.vendors.serial_laser import SerialLaser  # noqa: E402
from osclc.drivers.sim.obis import ObisFault, SimulatedObis  # noqa: E402

TIMEOUT_S = 0.2


@pytest.fixture
def sim():
    with SimulatedObis(max_power_mw=100.0) as simulator:
        yield simulator


def open_laser(sim: SimulatedObis, max_power_mw: float = 50.0, **kwargs) -> SerialLaser:
    return SerialLaser("obis", max_power_mw, sim.port, timeout_s=TIMEOUT_S, **kwargs)


def test_opens_dark_and_round_trips_power_in_watts(sim):
    sim.emission_setting = True  # left on by a previous program
    laser = open_laser(sim)
    assert not sim.emitting  # opening turns emission off
    assert "OBIS" in laser.identity()
    laser.set_power_mw(25.0)
    assert sim.power_w == pytest.approx(0.025)
    assert "SOUR:POW:LEV:IMM:AMPL 0.025000" in sim.commands
    assert laser.power_mw() == pytest.approx(25.0)
    laser.set_emission(True)
    assert sim.emitting
    status = laser.status()
    assert (status.emission, status.interlock_closed, status.faults) == (True, True, [])
    laser.close()
    assert not sim.emitting


def test_power_over_configured_max_never_reaches_the_laser(sim):
    laser = open_laser(sim, max_power_mw=20.0)
    before = list(sim.commands)
    with pytest.raises(InvalidSetting, match="laser 'obis'"):
        laser.set_power_mw(20.01)
    assert sim.commands == before and sim.power_w == 0.0
    laser.close()


def test_laser_refuses_power_above_its_rating(sim):
    laser = open_laser(sim, max_power_mw=500.0)
    with pytest.raises(DeviceProtocolError, match=r"laser 'obis': refused to set the power to 150 mW: error 102: parameter value out of range"):
        laser.set_power_mw(150.0)
    assert sim.power_w == 0.0
    laser.close()


def test_timeout_names_the_laser_and_emission_can_still_be_left_off(sim):
    laser = open_laser(sim)
    laser.set_emission(True)
    sim.inject(ObisFault.NO_REPLY, "SOUR:POW:LEV:IMM:AMPL?")
    with pytest.raises(DeviceTimeout, match=rf"laser 'obis': no reply to 'SOUR:POW:LEV:IMM:AMPL\?' within {TIMEOUT_S} s"):
        laser.power_mw()
    laser.close()
    assert not sim.emitting


def test_garbled_reply_is_a_protocol_error_and_is_retried(sim):
    laser = open_laser(sim, retry=RetryPolicy(attempts=1))
    sim.inject(ObisFault.GARBLED, "SOUR:POW:LEV:IMM:AMPL?", times=1)
    assert laser.power_mw() == 0.0  # second try succeeds
    assert laser.retries == 1
    sim.inject(ObisFault.GARBLED, "SOUR:POW:LEV:IMM:AMPL?")
    with pytest.raises(DeviceProtocolError, match="laser 'obis': garbled reply when trying to read the power"):
        laser.power_mw()
    laser.close()


def test_error_reply(sim):
    laser = open_laser(sim)
    sim.inject(ObisFault.ERROR_REPLY, "SOUR:AM:STAT ON", error_code=101)
    with pytest.raises(DeviceProtocolError, match="laser 'obis': refused to turn emission on: error 101: invalid command"):
        laser.set_emission(True)
    assert not sim.emitting
    laser.close()


def test_interlock_opening_mid_run(sim):
    laser = open_laser(sim)
    laser.set_emission(True)
    sim.open_interlock()
    assert not sim.emitting
    status = laser.status()
    assert status.interlock_closed is False and status.emission is False
    turned_on = sim.commands.count("SOUR:AM:STAT ON")
    with pytest.raises(InterlockOpen, match="laser 'obis'"):
        laser.set_emission(True)
    assert not sim.emitting and sim.commands.count("SOUR:AM:STAT ON") == turned_on
    sim.close_interlock()
    laser.set_emission(True)
    assert sim.emitting
    laser.close()


def test_fault_word_is_reported(sim):
    laser = open_laser(sim)
    sim.fault_word = 0x21
    assert laser.status().faults == ["fault bit 0 (word 0x00000021)", "fault bit 5 (word 0x00000021)"]
    laser.close()


def test_disconnect_mid_run(sim):
    laser = open_laser(sim)
    laser.set_power_mw(5.0)
    sim.disconnect()
    with pytest.raises(DeviceDisconnected, match=r"laser 'obis': serial port .* failed.*may still be emitting"):
        laser.power_mw()
    with pytest.raises(DeviceDisconnected):
        laser.close()
    assert laser.closed


def test_open_failures_name_the_laser(sim, tmp_path):
    with pytest.raises(DeviceError, match=r"laser 'obis': cannot open serial port"):
        SerialLaser("obis", 10.0, str(tmp_path / "ttyNOPE"), timeout_s=TIMEOUT_S)
    with pytest.raises(DeviceError, match="does not contain the expected 'ITC4001'"):
        open_laser(sim, expect_identity="ITC4001")
    sim.inject(ObisFault.NO_REPLY)
    with pytest.raises(DeviceTimeout, match="laser 'obis'"):
        open_laser(sim)


def simulated_obis_bench() -> dict:
    """A simulated bench whose laser is the serial driver on a simulated OBIS, selected by config alone."""
    return {"laser": {"backend": "serial", "timeout_s": TIMEOUT_S, "max_power_mw": 50.0, "power_mw": 10.0,
                      "options": {"simulator": "obis", "expect_identity": "OBIS"}}}


def test_bench_leaves_the_serial_laser_off_after_an_exception():
    from osclc.drivers.bench import open_bench

    with pytest.raises(RuntimeError, match="user code failed"):
        with open_bench(simulated_obis_bench(), emission=True) as bench:
            sim = bench.laser.simulator
            assert sim.emitting and sim.power_w == pytest.approx(0.010)
            raise RuntimeError("user code failed")
    assert not sim.emitting and bench.laser.closed


def test_bench_switches_off_after_a_timeout_in_user_code():
    from osclc.drivers.bench import open_bench

    with pytest.raises(DeviceTimeout, match="laser 'serial laser'"):
        with open_bench(simulated_obis_bench(), emission=True) as bench:
            sim = bench.laser.simulator
            sim.inject(ObisFault.NO_REPLY, "SYST:STAT?")
            bench.laser.status()
    assert not sim.emitting


@pytest.mark.parametrize("fault", ["no reply", "disconnect"])
def test_bench_reports_a_laser_it_could_not_switch_off(fault):
    from osclc.drivers.bench import open_bench

    with pytest.raises(RuntimeError, match="user code failed") as raised:
        with open_bench(simulated_obis_bench(), emission=True) as bench:
            sim = bench.laser.simulator
            if fault == "no reply":
                sim.inject(ObisFault.NO_REPLY)
            else:
                sim.disconnect()
            raise RuntimeError("user code failed")
    notes = " ".join(getattr(raised.value, "__notes__", []))
    expected = "DeviceTimeout: laser 'serial laser': no reply" if fault == "no reply" else "DeviceDisconnected: laser 'serial laser'"
    assert "could not switch the laser emission off" in notes and expected in notes
    assert sim.emitting  # the truth: it could not be switched off, and the error says so


def test_bench_refuses_bad_serial_options():
    from osclc.drivers.bench import open_bench

    config = simulated_obis_bench()
    config["laser"]["options"]["protocol"] = "scpi"
    with pytest.raises(InvalidSetting, match=r"laser\.options\.protocol: the simulated OBIS speaks 'obis'"):
        with open_bench(config):
            pass
    config["laser"]["options"] = {"simulator": "obis", "parity": "N"}
    with pytest.raises(InvalidSetting, match=r"laser\.options\.parity"):
        with open_bench(config):
            pass
