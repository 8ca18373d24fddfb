"""The VISA laser driver against the pyvisa-sim SCPI laser shipped in the package (osclc/drivers/sim/laser.yaml).

Each test copies the YAML to its own tmp folder, so pyvisa-sim builds a fresh library (fresh
instrument state) and a fresh ResourceManager; ``probe`` is a second session on the same simulated
instrument that reads its state with raw SCPI, independently of the driver.
"""

from __future__ import annotations

import shutil
from importlib import resources

import pytest

pyvisa = pytest.importorskip("pyvisa")
pytest.importorskip("pyvisa_sim")

from osclc.drivers.errors import DeviceDisconnected, DeviceError, DeviceProtocolError, DeviceTimeout, InterlockOpen, InvalidSetting  # noqa: E402
from osclc.drivers.retry import RetryPolicy  # noqa: E402
from osclc.drivers.vendors.visa_laser import VisaLaser, resolve_visa_library  # noqa: E402

HEALTHY = "TCPIP0::laser.sim::INSTR"


@pytest.fixture
def library(tmp_path):
    """A private copy of the shipped simulator, as a pyvisa library string."""
    source = resources.files("osclc.drivers.sim") / "laser.yaml"
    target = tmp_path / "laser.yaml"
    shutil.copyfile(str(source), target)
    return f"{target}@sim"


@pytest.fixture
def manager(library):
    rm = pyvisa.ResourceManager(library)
    yield rm
    rm.close()


def probe(manager, resource: str = HEALTHY):
    """A raw SCPI session on the simulated instrument (the driver's is untouched)."""
    return manager.open_resource(resource, write_termination="\n", read_termination="\n", timeout=200)


def open_laser(library, resource: str = HEALTHY, max_power_mw: float = 50.0, **kwargs) -> VisaLaser:
    return VisaLaser("itc", max_power_mw, resource, library, timeout_s=0.1, **kwargs)


def test_identity_power_in_watts_and_emission(library, manager):
    raw = probe(manager)
    laser = open_laser(library)
    assert laser.identity() == "OSCLC,SIM-SCPI-LASER,SIM0001,1.0"
    laser.set_power_mw(25.0)
    assert float(raw.query("SOUR:POW:LEV:IMM:AMPL?")) == pytest.approx(0.025)  # W on the wire
    assert laser.power_mw() == pytest.approx(25.0)
    laser.set_emission(True)
    assert raw.query("OUTP:STAT?") == "1"
    status = laser.status()
    assert (status.emission, status.power_mw, status.interlock_closed, status.faults) == (True, pytest.approx(25.0), True, [])
    laser.close()
    assert raw.query("OUTP:STAT?") == "0"


def test_power_over_configured_max_is_refused_before_sending(library, manager):
    raw = probe(manager)
    laser = open_laser(library, max_power_mw=30.0)
    sent = []
    write = laser.link.write_line
    laser.link.write_line = lambda text: (sent.append(text), write(text))[1]
    for bad in (30.5, float("nan"), -1.0):
        with pytest.raises(InvalidSetting, match="itc"):
            laser.set_power_mw(bad)
    assert sent == []
    assert float(raw.query("SOUR:POW:LEV:IMM:AMPL?")) == 0.0
    laser.close()


def test_error_queue_is_checked_after_a_setting(library, manager):
    raw = probe(manager)
    laser = open_laser(library, max_power_mw=500.0)  # the simulated controller itself stops at 100 mW
    laser.set_power_mw(40.0)
    with pytest.raises(DeviceProtocolError, match=r"laser 'itc'.*refused.*-100"):
        laser.set_power_mw(150.0)
    assert float(raw.query("SOUR:POW:LEV:IMM:AMPL?")) == pytest.approx(0.040)
    assert raw.query("SYST:ERR?").startswith("+0")  # the driver emptied the queue
    laser.close()


def test_no_reply_times_out_naming_the_laser_and_is_retried(library, manager):
    laser = open_laser(library, "TCPIP0::laser-noreply.sim::INSTR", retry=RetryPolicy(attempts=2))
    with pytest.raises(DeviceTimeout, match=r"laser 'itc': no reply within 100 ms \(trying to read the reply to 'SOUR:POW:LEV:IMM:AMPL\?'\)"):
        laser.power_mw()
    assert laser.retries == 2
    laser.set_emission(False)  # other commands still work: emission can be left off
    laser.close()


def test_garbled_reply(library, manager):
    laser = open_laser(library, "TCPIP0::laser-garbled.sim::INSTR")
    with pytest.raises(DeviceProtocolError, match=r"laser 'itc': garbled reply .*read the power"):
        laser.power_mw()
    laser.close()


def test_interlock_open_from_the_start_and_mid_run(library, manager):
    raw = probe(manager, "TCPIP0::laser-interlock.sim::INSTR")
    laser = open_laser(library, "TCPIP0::laser-interlock.sim::INSTR")
    with pytest.raises(InterlockOpen, match="laser 'itc'"):
        laser.set_emission(True)
    assert raw.query("OUTP:STAT?") == "0"
    raw.write("SIM:INTL 0")
    laser.set_emission(True)
    assert raw.query("OUTP:STAT?") == "1"
    raw.write("SIM:INTL 1")  # opens mid-run
    assert laser.status().interlock_closed is False
    laser.set_emission(False)
    with pytest.raises(InterlockOpen):
        laser.set_emission(True)
    assert raw.query("OUTP:STAT?") == "0"
    laser.close()


def test_disconnect_mid_run(library, manager):
    laser = open_laser(library)
    laser.set_power_mw(10.0)
    manager.close()  # every session of the simulated library is gone
    with pytest.raises(DeviceDisconnected, match=r"laser 'itc'.*may still be emitting"):
        laser.power_mw()
    with pytest.raises(DeviceDisconnected):
        laser.close()
    assert laser.closed


@pytest.mark.filterwarnings("ignore:read string doesn't end with termination characters")
def test_open_failures_name_the_laser(library, manager):
    with pytest.raises(DeviceError, match=r"laser 'itc': (cannot open VISA resource|empty reply to the identity)"):
        open_laser(library, "TCPIP0::nowhere.sim::INSTR")
    with pytest.raises(DeviceError, match="does not contain the expected 'OBIS'"):
        open_laser(library, expect_identity="OBIS")


def test_visa_library_resolution(tmp_path):
    shipped = resolve_visa_library("laser.yaml@sim")
    assert shipped.endswith("@sim") and shipped[:-4].endswith("laser.yaml")
    assert resolve_visa_library("@py") == "@py"
    with pytest.raises(FileNotFoundError, match="nothere.yaml"):
        resolve_visa_library("nothere.yaml@sim")
    with pytest.raises(FileNotFoundError):
        resolve_visa_library(f"{tmp_path / 'missing.yaml'}@sim")


def bench_config(library: str, resource: str = HEALTHY) -> dict:
    """A simulated bench whose laser is the pyvisa-sim instrument, selected by config alone."""
    return {"laser": {"backend": "visa", "resource": resource, "timeout_s": 0.1, "max_power_mw": 50.0, "power_mw": 10.0,
                      "options": {"visa_library": library, "protocol": "scpi"}}}


@pytest.mark.parametrize("error", [RuntimeError("user code failed"), KeyboardInterrupt()])
def test_bench_leaves_the_visa_laser_off_on_every_exit(library, manager, error):
    from osclc.drivers.bench import open_bench

    raw = probe(manager)
    with pytest.raises(type(error)):
        with open_bench(bench_config(library), emission=True) as bench:
            assert isinstance(bench.laser, VisaLaser)
            assert raw.query("OUTP:STAT?") == "1"
            assert float(raw.query("SOUR:POW:LEV:IMM:AMPL?")) == pytest.approx(0.010)
            raise error
    assert raw.query("OUTP:STAT?") == "0"
    assert bench.laser.closed


def test_bench_with_the_interlock_opening_mid_run(library, manager):
    from osclc.drivers.bench import open_bench

    raw = probe(manager)
    with open_bench(bench_config(library)) as bench:
        raw.write("SIM:INTL 1")
        with pytest.raises(InterlockOpen, match="laser 'visa laser'"):
            bench.laser.set_emission(True)
    assert raw.query("OUTP:STAT?") == "0"


def test_bench_refuses_unknown_visa_options(library):
    from osclc.drivers.bench import open_bench

    config = bench_config(library)
    config["laser"]["options"]["protcol"] = "scpi"
    with pytest.raises(InvalidSetting, match=r"laser\.options\.protcol: .*takes: visa_library, protocol, expect_identity"):
        with open_bench(config):
            pass
