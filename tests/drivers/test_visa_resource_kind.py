"""A VISA resource that is not message-based (register-based, PXI memory) cannot carry SCPI lines: the laser
driver refuses it at open with a DeviceError naming the laser and the resource kinds to use, and closes it
(it used to fail on the first query with an AttributeError)."""

from __future__ import annotations

import shutil
from importlib import resources

import pytest

pytest.importorskip("pyvisa_sim")
import pyvisa  # noqa: E402
from pyvisa.resources import Resource  # noqa: E402

from osclc.drivers.errors import DeviceError  # noqa: E402
from osclc.drivers.vendors.visa_laser import VisaLaser  # noqa: E402


def test_a_resource_that_is_not_message_based_is_refused_and_closed(tmp_path, monkeypatch):
    target = tmp_path / "laser.yaml"
    shutil.copyfile(str(resources.files("osclc.drivers.sim") / "laser.yaml"), target)
    opened: list[Resource] = []
    original = pyvisa.ResourceManager.open_resource

    def open_plain(self, name, **kwargs):  # the simulated instrument, opened as a plain (not message-based) resource
        opened.append(original(self, name, resource_pyclass=Resource, **kwargs))
        return opened[-1]

    monkeypatch.setattr(pyvisa.ResourceManager, "open_resource", open_plain)
    with pytest.raises(DeviceError, match=r"laser 'itc': VISA resource 'TCPIP0::laser.sim::INSTR' is a Resource, "
                                          r"not a message-based instrument; give the laser controller's INSTR, SOCKET or ASRL"):
        VisaLaser("itc", 50.0, "TCPIP0::laser.sim::INSTR", f"{target}@sim", timeout_s=0.1)
    assert len(opened) == 1
    with pytest.raises(pyvisa.errors.InvalidSession):
        _ = opened[0].session  # closed
