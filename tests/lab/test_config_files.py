"""Config files: validation errors name the YAML path, the value and what is allowed; defaults round-trip."""

from __future__ import annotations

from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from osclc.lab.config import files as config_files, kinds as config_kinds
from osclc.lab.cli.main import main
from osclc.lab.config.files import ConfigError, commented_yaml, load_config, reference_markdown


class _Camera(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exposure_s: float = Field(0.001, gt=0, le=10, description="exposure time (s)")
    gain: float = Field(1.0, ge=1, le=64, description="analogue gain (x)")


class _Demo(BaseModel):
    """A small schema standing in for a real config kind."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["demo"] = "demo"
    name: str = Field("bench-a", description="bench name")
    mode: Literal["time", "space"] = Field("time", description="multiplexing")
    camera: _Camera = Field(default_factory=_Camera, description="the camera")
    sizes: list[int] = Field(default_factory=lambda: [8, 16], description="grid sizes (pixels)")


@pytest.fixture(autouse=True)
def demo_kind(monkeypatch):
    monkeypatch.setitem(config_kinds.KINDS, "demo", _Demo)


def _write(tmp_path, text: str):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_valid_file_loads(tmp_path):
    cfg = load_config(_write(tmp_path, "kind: demo\ncamera:\n  exposure_s: 0.02\n"))
    assert isinstance(cfg, _Demo) and cfg.camera.exposure_s == 0.02


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: demo\ncamera:\n  exposur_s: 1\n", ["camera.exposur_s: unknown key", "exposure_s, gain"]),
        ("kind: demo\ncamera:\n  exposure_s: fast\n", ["camera.exposure_s", "'fast'"]),
        ("kind: demo\ncamera:\n  gain: 100\n", ["camera.gain", "less than or equal to 64", "got 100"]),
        ("kind: demo\nmode: diagonal\n", ["mode", "'time' or 'space'", "'diagonal'"]),
        ("kind: demo\nsizes: [8, x]\n", ["sizes[1]", "'x'"]),
        ("camera: {}\n", ["kind: required field is missing", "demo"]),
        ("kind: nothing\n", ["unknown config kind 'nothing'"]),
        ("kind: [demo\n", ["not valid YAML at line"]),
        ("- a\n- b\n", ["top level must be a mapping"]),
    ],
)
def test_bad_file_names_field_value_and_fix(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    message = str(info.value)
    assert str(tmp_path / "c.yaml") in message
    for part in expected:
        assert part in message


def test_missing_file_and_wrong_kind(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="needs a 'bench' config"):
        load_config(_write(tmp_path, "kind: demo\n"), kind="bench")


def test_commented_default_round_trips_and_carries_units():
    text = commented_yaml(_Demo())
    assert "# exposure time (s)" in text and "# grid sizes (pixels)" in text
    assert _Demo.model_validate(yaml.safe_load(text)) == _Demo()


def test_reference_lists_nested_keys_with_ranges():
    ref = reference_markdown()
    assert "| `camera.gain` | float (>= 1, <= 64) | `1.0` | analogue gain (x) |" in ref


def test_cli_check_exit_codes(tmp_path, capsys):
    good = _write(tmp_path, "kind: demo\n")
    assert main(["config", "check", str(good)]) == 0
    assert "valid demo config" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: demo\ncamera:\n  gain: -3\n")
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "camera.gain" in err and "Traceback" not in err
    with pytest.raises(ConfigError):
        main(["--debug", "config", "check", str(bad)])


def test_cli_show_prints_valid_commented_default(capsys):
    assert main(["config", "show", "demo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# osclc demo config")
    assert _Demo.model_validate(yaml.safe_load(out)) == _Demo()
    assert main(["config", "show", "nope"]) == 2


def test_every_registered_kind_has_a_valid_commented_default():
    for kind, model in config_kinds.KINDS.items():
        data = yaml.safe_load(config_files.default_yaml(kind))
        assert model.model_validate(data) == model(), kind


def test_union_members_get_their_keys_in_errors_and_their_block_in_the_reference(tmp_path):
    with pytest.raises(ConfigError, match=r"arch\.segmentation\.pools: unknown key; allowed keys here: variant, channels, kernel_size, detector, nyquist"):
        load_config(_write(tmp_path, "kind: train\narch:\n  variant: sclc_unet\n  pools: [2, 2]\n"))
    ref = reference_markdown()
    assert "| `arch` | ClassificationArch |" in ref and "| `arch` | SegmentationArch |" in ref
    assert "| `arch.variant` | 'unet' \\| 'sclc_unet' | `*required*` |" in ref
