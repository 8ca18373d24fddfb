"""Packaging: a non-editable wheel installs everything under ``osclc.*`` and its ``osclc`` command runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _source_copy(dest: Path) -> Path:
    """The files git would ship (tracked and new, not ignored), copied so no stale build/ leaks in."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for name in listed:
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def test_wheel_installs_under_one_namespace_and_runs(tmp_path):
    src = _source_copy(tmp_path / "src")
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)],
        check=True, capture_output=True, text=True,
    )
    (wheel,) = wheels.glob("osclc-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        names = archive.namelist()
    assert tops == {"osclc", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    for package in ("models", "drivers", "calibration", "lab", "configs"):
        assert f"osclc/{package}/__init__.py" in names
    assert not any(n.startswith(("osclc/tests/", "osclc/benchmarks/", "osclc/runs/")) for n in names)
    shipped = {
        str(p.relative_to(src))
        for folder in ("models", "drivers", "calibration", "lab", "configs")
        for p in (src / "osclc" / folder).rglob("*")
        if p.suffix in (".py", ".yaml")
    }
    assert shipped <= set(names), f"missing from the wheel (add the package to pyproject): {sorted(shipped - set(names))}"

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True, capture_output=True, text=True,
    )
    assert not (target / "models").exists() and not (target / "lab").exists()
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import osclc, osclc.lab.cli.main, osclc.models; print(osclc.__file__); print(osclc.models.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert all(path.startswith(str(target)) for path in where)
    script = target / "bin" / "osclc"
    helped = subprocess.run([sys.executable, str(script), "--help"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert helped.returncode == 0, helped.stderr
    assert "usage: osclc" in helped.stdout and "config" in helped.stdout
    module = subprocess.run([sys.executable, "-m", "osclc", "config", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert module.returncode == 0 and "check" in module.stdout
