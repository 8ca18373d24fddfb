"""Hostile and careless config files end as one line and exit 2, never a traceback, a hang or a coercion.

Cases that used to hang or fill memory run ``osclc`` in a child process with a memory limit and a timeout, so
a regression fails the test instead of the machine.
"""

from __future__ import annotations

import re
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.errors import InvalidSetting
from osclc.drivers.vendors.slmsuite_common import import_slmsuite_class
from osclc.lab.cli.main import main
from osclc.lab.config.files import ConfigError, load_config
from osclc.lab.config.yaml_reader import MAX_CONFIG_BYTES

CHILD_MEMORY_BYTES = 3 << 30  # address space of a child osclc: enough to start it, far below the machine's memory


def _write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _osclc_child(*args: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    """``python -m osclc ARGS`` in a child with a 3 GiB address-space limit; a hang raises TimeoutExpired."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))

    return subprocess.run([sys.executable, "-m", "osclc", *args], capture_output=True, text=True, timeout=timeout_s,
                          preexec_fn=limit, env=os.environ.copy())


def _one_line_exit_2(proc: subprocess.CompletedProcess[str], *parts: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and re.match(r"osclc( [\w-]+)*: error: ", lines[0]), proc.stderr[-2000:]
    for part in parts:
        assert part in lines[0]


@pytest.mark.parametrize("kind", ["[bench]", "{a: 1}", "7", "true"])
def test_kind_of_the_wrong_type_is_refused(tmp_path, capsys, kind):
    path = _write(tmp_path, f"kind: {kind}\n")
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "kind: unknown config kind" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("kind: loop\nqueue_depth: true\n", "queue_depth"),
        ("kind: loop\nqueue_depth: 4.0\n", "queue_depth"),
        ("kind: loop\nqueue_depth: '4'\n", "queue_depth"),
        ("kind: bench\nlaser:\n  max_power_mw: '5'\n", "laser.max_power_mw"),
        ("kind: bench\nname: 12\n", "name"),
        ("kind: bench\nsimulation:\n  noise: 1\n", "simulation.noise"),
        ("kind: bench\nsimulation:\n  noise: yes\n", "simulation.noise"),
        ("kind: train\nepochs: 2.5\n", "epochs"),
    ],
)
def test_wrong_types_are_refused_not_coerced(tmp_path, text, field):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert str(info.value).startswith(f"{tmp_path / 'c.yaml'}: {field}: ")  # one problem: one line


def test_native_yaml_types_still_load(tmp_path):
    """An integer is a valid float, a list a valid shape; ``1e-3`` is a number (YAML 1.2) and ``010`` is ten."""
    config = load_config(_write(tmp_path, "kind: bench\nlaser:\n  max_power_mw: 5\ncamera:\n  exposure_s: 1e-3\n"
                                          "input:\n  shape: [64, 64]\n  bit_depth: 010\n"))
    assert isinstance(config, BenchConfig)
    assert config.laser.max_power_mw == 5.0 and config.camera.exposure_s == 1e-3
    assert config.input.shape == (64, 64) and config.input.bit_depth == 10


def test_a_duplicated_key_is_refused_naming_it_and_its_line(tmp_path):
    path = _write(tmp_path, "kind: bench\nlaser:\n  max_power_mw: 5\n  power_mw: 1\n  max_power_mw: 9000\n")
    with pytest.raises(ConfigError, match=r"line 5, column 3: duplicate key 'max_power_mw' \(first given at line 3\)"):
        load_config(path)


def test_aliases_and_non_json_tags_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"alias \*base is not allowed"):
        load_config(_write(tmp_path, "kind: bench\ninput: &base {settle_s: 0.1}\nslm: *base\n"))
    for value in ("!!binary aGk=", "!!set {a}", "!!timestamp 2024-01-01"):
        with pytest.raises(ConfigError, match="is not allowed in an osclc config"):
            load_config(_write(tmp_path, f"kind: bench\nname: {value}\n"))


def test_billion_laughs_is_refused_at_once(tmp_path):
    """Nine levels of ten aliases (10**9 leaves from a few hundred bytes) used to take 52 s of CPU and a MemoryError."""
    lines = ["kind: bench", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    _one_line_exit_2(_osclc_child("config", "check", str(path)), "alias *l0 is not allowed")


def test_special_files_are_refused_without_reading_them(tmp_path):
    """``/dev/zero`` used to fill memory, a FIFO to block forever."""
    _one_line_exit_2(_osclc_child("config", "check", "/dev/zero"), "not a regular file")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    _one_line_exit_2(_osclc_child("config", "check", str(fifo), timeout_s=60.0), "not a regular file")


def test_an_oversized_file_is_refused(tmp_path):
    path = _write(tmp_path, "kind: bench\n" + "#" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError, match=r"larger than a config may be"):
        load_config(path)


def test_deep_nesting_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(_write(tmp_path, "kind: bench\nname: " + "[" * 20000 + "]" * 20000 + "\n"))


def test_sizes_beyond_the_machine_give_one_line(tmp_path):
    """In-range sizes the machine cannot hold (here: a 3 GiB process) used to end in MemoryError / cv2.error tracebacks."""
    bench = _write(tmp_path, "kind: bench\nslm: {shape: [8192, 8192]}\ncamera: {shape: [16384, 16384]}\n"
                             "input: {shape: [8192, 8192]}\n", "big-bench.yaml")
    runs = str(tmp_path / "runs")
    _one_line_exit_2(_osclc_child("--runs-dir", runs, "bench", "check", str(bench)), "not enough memory", "reduce them")
    train = _write(tmp_path, "kind: train\nimage_size: 8192\nepochs: 1\n", "big-train.yaml")
    _one_line_exit_2(_osclc_child("--runs-dir", runs, "train", "student", "--config", str(train), "--no-progress"),
                     "not enough memory", "Insufficient memory")


def test_slmsuite_class_outside_slmsuite_is_refused_before_any_import(tmp_path, monkeypatch):
    """A bench YAML's ``slmsuite_class`` used to import any installed module before checking it."""
    (tmp_path / "osclc_canary_module.py").write_text("IMPORTED = True\nclass Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from slmsuite.hardware.slms.slm import SLM

    with pytest.raises(InvalidSetting, match="inside the slmsuite package"):
        import_slmsuite_class("slm", "osclc_canary_module.Thing", SLM)
    for dotted in ("slmsuite", "slmsuite..x", "slmsuite.hardware.slms.simulated.Simulated SLM"):
        with pytest.raises(InvalidSetting, match="slm.options.slmsuite_class"):
            import_slmsuite_class("slm", dotted, SLM)
    path = _write(tmp_path, "kind: bench\nslm:\n  backend: slmsuite\n  options:\n    slmsuite_class: osclc_canary_module.Thing\n")
    with pytest.raises(ConfigError, match=r"slm\.options\.slmsuite_class: give the dotted path of a class inside the slmsuite"):
        load_config(path)
    assert "osclc_canary_module" not in sys.modules
