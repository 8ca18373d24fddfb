"""Rules osclc.models keeps: no public parameter typed Any, modules under 400 lines, a lazy public API (import cycles and
layering are checked package-wide in tests/test_architecture.py)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import osclc.models

ROOT = Path(osclc.models.__file__).parent
PACKAGES = ["osclc.models", "osclc.models.data", "osclc.models.layers", "osclc.models.networks", "osclc.models.training"]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(path): ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in sorted(ROOT.rglob("*.py"))}


def _imports(tree: ast.Module) -> set[str]:
    """Project modules a module imports, anywhere in it (``if TYPE_CHECKING:`` blocks and functions included)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("osclc."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("osclc."))
    return found


def _public_any_parameters(tree: ast.Module, module: str) -> list[str]:
    found = []

    def visit(node: ast.AST, prefix: str, public: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", public and not child.name.startswith("_"))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if not public or (child.name.startswith("_") and not child.name.endswith("__")):
                    continue
                args = child.args
                for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                    if arg is not None and arg.annotation is not None and "Any" in ast.unparse(arg.annotation):
                        found.append(f"{module}.{prefix}{child.name}({arg.arg}: {ast.unparse(arg.annotation)})")

    visit(tree, "", True)
    return found


def test_no_public_parameter_is_typed_any() -> None:
    sample = ast.parse("from typing import Any\ndef f(x: dict[str, Any]) -> None: ...\ndef _g(x: Any) -> None: ...\n")
    assert _public_any_parameters(sample, "m") == ["m.f(x: dict[str, Any])"]
    found = [hit for name, tree in _modules().items() for hit in _public_any_parameters(tree, name)]
    assert found == []


def test_every_module_is_under_400_lines() -> None:
    lengths = {path.name: len(path.read_text(encoding="utf-8").splitlines()) for path in ROOT.rglob("*.py")}
    assert {name: n for name, n in lengths.items() if n >= 400} == {}


def test_importing_the_packages_does_not_import_torch() -> None:
    code = "import sys; " + "; ".join(f"import {p}" for p in PACKAGES) + "; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_to_its_definition(package: str) -> None:
    module = importlib.import_module(package)
    declared = {
        alias.asname or alias.name: node.module
        for node in ast.walk(ast.parse(Path(module.__file__).read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("osclc.models.")
        and node.module != "osclc.models.lazy_exports"
        for alias in node.names
    }
    assert sorted(declared) == sorted(module.__all__) and len(set(module.__all__)) == len(module.__all__)
    for name, source in declared.items():
        assert getattr(module, name) is getattr(importlib.import_module(source), name), name
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        _ = module.not_a_name


def test_an_init_whose_all_and_imports_differ_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "drifted"
    package.mkdir()
    (package / "part.py").write_text("VALUE = 1\nOTHER = 2\n")
    (package / "__init__.py").write_text(
        "from osclc.models.lazy_exports import lazy_exports\n"
        "TYPE_CHECKING = False\n"
        "if TYPE_CHECKING:\n    from drifted.part import VALUE\n"
        "__all__ = ['VALUE', 'OTHER']\n"
        "__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    drifted = importlib.import_module("drifted")
    try:
        with pytest.raises(ImportError, match=r"only in __all__: \['OTHER'\]"):
            _ = drifted.VALUE
    finally:
        sys.modules.pop("drifted", None)
