"""The architecture's rules, checked on every module of the package (parsed with :mod:`ast`, not imported, so a
rule broken in a rarely run branch still fails here): the import direction of DESIGN.md and docs/architecture.md,
no import cycle, every subpackage on the map."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "osclc"

# package -> the project packages it may import (besides itself); ``storage`` and ``configs`` (the bundled YAML
# files, data) are the base layer.
PACKAGE_RULES: dict[str, set[str]] = {
    "storage": set(),
    "configs": set(),
    "models": {"storage", "configs"},
    "drivers": {"storage", "configs"},
    "calibration": {"storage", "configs", "drivers", "models"},
    "lab": {"storage", "configs", "drivers", "models", "calibration"},
}

# (importer prefix, imported prefix, why it is refused); a module matching the importer may not
# import any module matching the imported prefix.
SUBPACKAGE_RULES: list[tuple[str, str, str]] = [
    ("osclc.drivers.physics", "osclc.drivers.sim", "shared physics is neutral: the simulator uses it, not the reverse"),
    ("osclc.drivers.physics", "osclc.drivers.vendors", "shared physics knows no vendor"),
    ("osclc.drivers.templates", "osclc.drivers.sim", "a template shows a real backend: interfaces only"),
    ("osclc.drivers.templates", "osclc.drivers.vendors", "a template shows a real backend: interfaces only"),
    ("osclc.calibration", "osclc.drivers.sim", "calibration measures real benches: it never imports the simulator"),
    ("osclc.calibration", "osclc.drivers.vendors", "calibration talks to the device interfaces, not to vendors"),
    ("osclc.calibration.measure", "osclc.calibration.compiler", "measuring and compiling are separate seams"),
    ("osclc.calibration.compiler", "osclc.calibration.measure", "measuring and compiling are separate seams"),
    ("osclc.models.data", "osclc.models.layers", "data loading knows no model"),
    ("osclc.models.data", "osclc.models.networks", "data loading knows no model"),
    ("osclc.models.data", "osclc.models.training", "data loading knows no training"),
    ("osclc.models.layers", "osclc.models.networks", "layers are the bottom of the model stack"),
    ("osclc.models.layers", "osclc.models.training", "layers are the bottom of the model stack"),
    ("osclc.models.networks", "osclc.models.training", "networks are built without training code"),
    ("osclc.lab.loop", "osclc.lab.jobs", "the loop is called by jobs, never the reverse"),
    ("osclc.lab.latency", "osclc.lab.jobs", "latency statistics are called by jobs, never the reverse"),
    ("osclc.lab.config", "osclc.lab.jobs", "configs are read by jobs, never the reverse"),
    ("osclc.lab.plots", "osclc.lab.jobs", "plots are drawn for jobs, never the reverse"),
]
# Every module of osclc.drivers directly (the interfaces and the bench) stays free of backends;
# backends are found by name through drivers.backends.BACKEND_MODULES.
INTERFACE_FREE_OF = ("osclc.drivers.sim", "osclc.drivers.vendors", "osclc.drivers.templates")
# Nothing outside the CLI imports the CLI (a job never parses arguments); ``python -m osclc`` runs it.
CLI = "osclc.lab.cli"
CLI_USERS = ("osclc.lab.cli", "osclc.__main__")
# The root package is the public facade (it may re-export any layer); from inside a layer only its
# version string may be imported from it.
ROOT_ALLOWED = {"osclc", "osclc.__version__"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(source: str, module: str, is_package: bool) -> set[str]:
    """Every ``osclc.*`` module that ``source`` (the text of ``module``) imports; ``from X import y``
    counts X and X.y, relative imports are resolved against ``module``'s package."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                imported = ".".join(base + ([node.module] if node.module else []))
            else:
                imported = node.module or ""
            found.add(imported)
            found.update(f"{imported}.{alias.name}" for alias in node.names)
    return {m for m in found if m == "osclc" or m.startswith("osclc.")}


def _file_imports(path: Path) -> set[str]:
    return _imports(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_package_has_modules():
    assert len(MODULES) > 100
    assert set(PACKAGE_RULES) >= {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_imports_follow_the_layering(path: Path):
    module = _module_name(path)
    parts = module.split(".")
    own = parts[1] if len(parts) > 1 else None
    broken: list[str] = []
    for imported in sorted(_file_imports(path)):
        top = imported.split(".")[1] if imported.count(".") else None
        if imported in ROOT_ALLOWED or own in (None, "__main__") or top == own:
            pass
        elif top not in PACKAGE_RULES.get(own, set()):
            broken.append(f"{imported}: osclc.{own} may import only {sorted(PACKAGE_RULES.get(own, set()))}")
        for importer, refused, why in SUBPACKAGE_RULES:
            if _within(module, importer) and _within(imported, refused):
                broken.append(f"{imported}: {why}")
        if len(parts) == 3 and own == "drivers" and any(_within(imported, p) for p in INTERFACE_FREE_OF):
            broken.append(f"{imported}: device interfaces and the bench import no backend (register it in drivers.backends)")
        if _within(imported, CLI) and not any(_within(module, user) for user in CLI_USERS):
            broken.append(f"{imported}: only the command line imports the command line")
    assert not broken, f"{module} breaks the layering:\n" + "\n".join(broken)


def test_the_parser_resolves_relative_and_function_level_imports():
    source = "from ..training import kd\nfrom . import spectral_conv\n\ndef f():\n    import osclc.lab.runs\n"
    found = _imports(source, "osclc.models.layers.probe", is_package=False)
    assert {"osclc.models.training", "osclc.models.training.kd", "osclc.models.layers.spectral_conv", "osclc.lab.runs"} <= found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p) for p in MODULES}
    return {_module_name(p): {m for m in _file_imports(p) if m in modules and m != _module_name(p)} for p in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import chain that leads from a module back to itself (one per module on a cycle)."""
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, chain = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    cycles.append(chain + [start])
                elif nxt in graph and nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, chain + [nxt]))
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"], ["b", "c", "a", "b"], ["c", "a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_through_others():
    graph = {name: {m for m in deps if not m.endswith("__init__")} for name, deps in _graph().items()}
    packages = {name for name in graph if any(other.startswith(name + ".") for other in graph)}
    # a package's __init__ re-exporting its own modules is not a cycle of the code
    graph = {name: {m for m in deps if m not in packages} for name, deps in graph.items()}
    assert _cycles(graph) == []


def test_the_architecture_page_names_every_subpackage():
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    subpackages = sorted({p.parent.relative_to(PACKAGE).as_posix() for p in MODULES if p.name == "__init__.py"} - {"."})
    missing = [name for name in subpackages if f"{name.rpartition('/')[2]}/" not in page]
    assert missing == [], f"docs/architecture.md does not show {missing}"
