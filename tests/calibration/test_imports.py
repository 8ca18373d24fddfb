"""Calibration's import rules (read from the source, not by importing): it never imports the simulator (the SLM
physics it shares with it is in ``osclc.drivers.physics``), and measuring and compiling do not import each other
(what both need lives at ``osclc/calibration`` top level)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import osclc

PACKAGE = Path(osclc.__file__).parent
CALIBRATION = PACKAGE / "calibration"


def imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` / ``from ... import`` in ``path`` names (absolute; relative ones resolved)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _violations(folder: Path, forbidden: str) -> list[str]:
    return [f"{path.relative_to(PACKAGE.parent)} imports {name}" for path in sorted(folder.rglob("*.py"))
            for name in sorted(imported_modules(path)) if name == forbidden or name.startswith(forbidden + ".")]


@pytest.mark.parametrize(("folder", "forbidden"), [
    (CALIBRATION, "osclc.drivers.sim"),
    (CALIBRATION / "compiler", "osclc.calibration.measure"),
    (CALIBRATION / "measure", "osclc.calibration.compiler"),
])
def test_calibration_import_rules(folder: Path, forbidden: str) -> None:
    assert _violations(folder, forbidden) == []


def test_the_rules_see_imports() -> None:
    """The scan finds what a module imports (so the rules above can fail): crosstalk uses the shared SLM model."""
    found = _violations(CALIBRATION / "compiler", "osclc.drivers.physics.slm_response")
    assert "osclc/calibration/compiler/crosstalk.py imports osclc.drivers.physics.slm_response.fringing_kernel" in found
