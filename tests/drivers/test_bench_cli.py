"""``osclc bench check`` end to end, and the vendor templates refusing to pretend they work."""

from __future__ import annotations

import json

import numpy as np
import pytest

from osclc.configs import bundled
from osclc.drivers.sim.input_modulator import SimulatedInputModulator
from osclc.drivers.sim.laser import SimulatedLaser
from osclc.drivers.backends import BenchShared
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.templates.camera import TemplateCamera
from osclc.drivers.templates.input_modulator import TemplateInputModulator
from osclc.drivers.templates.laser import TemplateLaser
from osclc.drivers.templates.slm import TemplateSLM
from osclc.lab.cli.main import main
from osclc.lab.config.files import load_config
from osclc.lab.runs import list_runs


SHIPPED_SIMULATED = ["bench-sim-ideal.yaml", "bench-sim-realistic.yaml", "bench-sim-realistic-segmentation.yaml",
                     "bench-dmd-typical.yaml", "bench-lcos-typical.yaml", "bench-paper.yaml"]


def _virtual(tmp_path, name: str = "bench-sim-realistic.yaml", **changes: dict[str, object]) -> str:
    """The bundled bench ``name`` on a virtual clock (no real waiting in tests), with ``changes`` merged into its
    sections (``camera={"gain": 0.0}``), written as YAML (JSON) into ``tmp_path``."""
    config = load_config(bundled(name), kind="bench").model_dump(mode="json")
    config["simulation"]["clock"] = "virtual"
    for section, values in changes.items():
        config[section].update(values)
    path = tmp_path / f"changed-{name}"
    path.write_text(json.dumps(config))
    return str(path)


@pytest.mark.parametrize("name", SHIPPED_SIMULATED)
def test_bench_check_writes_a_run_with_the_test_frame(name: str, tmp_path, capsys, _isolated_runs_dir) -> None:
    assert main(["bench", "check", _virtual(tmp_path, name)]) == 0  # and no false alarm on any shipped bench
    out = capsys.readouterr().out
    assert "laser sim-laser" in out and "identity=osclc,SimulatedLaser" in out and "bench closed safely" in out
    assert "checks: all passed" in out
    (run,) = list_runs()
    assert run.status == "completed"
    assert (run.folder / "frame.png").stat().st_size > 1000
    frame = np.load(run.folder / "frame.npy")
    assert frame.max() > frame.min()
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert metrics["frame_max"] == pytest.approx(float(frame.max()))


@pytest.mark.parametrize("changes, figure, cause", [
    ({"camera": {"gain": 0.0}}, "lit frame range", "black frame"),
    ({"laser": {"power_mw": 0.0}}, "signal to noise", "noise only"),
    ({"camera": {"exposure_s": 0.05}}, "saturated fraction", "the camera saturates"),
    ({"laser": {"options": {"expect_identity": "Coherent"}}}, "laser identity matches", "laser.options.expect_identity"),
])
def test_bench_check_fails_naming_the_cause(tmp_path, capsys, _isolated_runs_dir, changes, figure, cause) -> None:
    assert main(["bench", "check", _virtual(tmp_path, **changes)]) == 1
    err = capsys.readouterr().err
    assert f"bench check: {figure} = " in err and cause in err and "the bench was left safe" in err
    (run,) = list_runs()
    assert run.status == "failed" and (run.folder / "frame.npy").is_file()


def test_bench_check_fails_on_a_frozen_input_modulator(tmp_path, capsys, monkeypatch) -> None:
    shown = SimulatedInputModulator._show_hw
    calls: list[int] = []
    monkeypatch.setattr(SimulatedInputModulator, "_show_hw", lambda self, values: calls.append(1) or (len(calls) == 1 and shown(self, values)))
    assert main(["bench", "check", _virtual(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "change with the input" in err and "does not change when the input image does" in err


def test_bench_check_fails_on_a_laser_below_its_set_power(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(SimulatedLaser, "_power_hw", lambda self: 0.5 * self.power)
    assert main(["bench", "check", _virtual(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "laser power error = 0.5" in err and "reports 0.5 mW" in err and "power_mw 1 mW" in err


def test_bench_check_refuses_a_bad_config(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: bench\nlaser:\n  max_power_mw: 1.0\n  power_mw: 2.0\n")
    assert main(["bench", "check", str(bad)]) == 2
    assert "power_mw" in capsys.readouterr().err


def test_templates_validate_first_then_say_what_to_write() -> None:
    shared = BenchShared.from_config(BenchConfig())
    cfg = shared.config
    slm = TemplateSLM(cfg.slm, shared)
    with pytest.raises(InvalidSetting):
        slm.display(np.zeros((3, 3), np.uint8))
    with pytest.raises(NotImplementedError, match="send"):
        slm.display(np.zeros(cfg.slm.shape, np.uint8))
    with pytest.raises(NotImplementedError):
        TemplateInputModulator(cfg.input, shared).show(np.zeros(cfg.input.shape))
    with pytest.raises(NotImplementedError, match="trigger"):
        TemplateCamera(cfg.camera, shared).capture()
    laser = TemplateLaser(cfg.laser, shared)
    with pytest.raises(InvalidSetting):
        laser.set_power_mw(cfg.laser.max_power_mw * 2)
    with pytest.raises(NotImplementedError, match="IDN"):
        laser.identity()
