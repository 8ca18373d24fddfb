"""osclc.storage is a base package: it imports nothing else of the project, so every package may import it."""

from __future__ import annotations

import ast
from pathlib import Path

import osclc.storage

STORAGE = Path(osclc.storage.__file__).parent


def test_storage_imports_no_other_project_package():
    for module in sorted(STORAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(), filename=str(module))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{module.name}: relative import"
                names = [node.module or ""]
            for name in names:
                assert name == "osclc.storage" or name.startswith("osclc.storage.") or not name.startswith("osclc"), (
                    f"{module.name} imports {name}: osclc.storage must import nothing else of the project"
                )
