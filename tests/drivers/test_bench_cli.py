"""``osclc bench check`` end to end, and the vendor templates refusing to pretend they work."""

from __future__ import annotations

import json

import numpy as np
import pytest

from osclc.configs import bundled
from osclc.drivers.backends import BenchShared
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.templates.camera import TemplateCamera
from osclc.drivers.templates.input_modulator import TemplateInputModulator
from osclc.drivers.templates.laser import TemplateLaser
from osclc.drivers.templates.slm import TemplateSLM
from osclc.lab.cli.main import main
from osclc.lab.runs import list_runs


@pytest.mark.parametrize("name", ["bench-sim-ideal.yaml", "bench-sim-realistic.yaml"])
def test_bench_check_writes_a_run_with_the_test_frame(name: str, tmp_path, capsys, _isolated_runs_dir) -> None:
    config = bundled(name)
    if name.endswith("realistic.yaml"):  # same bench on a virtual clock: no real waiting in tests
        text = config.read_text().replace("clock: real", "clock: virtual")
        config = tmp_path / name
        config.write_text(text)
    assert main(["bench", "check", str(config)]) == 0
    out = capsys.readouterr().out
    assert "laser sim-laser" in out and "identity=osclc,SimulatedLaser" in out and "bench closed safely" in out
    (run,) = list_runs()
    assert run.status == "completed"
    assert (run.folder / "frame.png").stat().st_size > 1000
    frame = np.load(run.folder / "frame.npy")
    assert frame.max() > frame.min()
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert metrics["frame_max"] == pytest.approx(float(frame.max()))


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
