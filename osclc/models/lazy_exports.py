"""Package attributes imported on first use, so that ``import osclc.models`` does not import torch.

A package ``__init__`` of :mod:`osclc.models` names its public API twice, both read by a person
in one screen: explicit ``from MODULE import NAME`` statements under ``if TYPE_CHECKING:``
(what type checkers and IDEs resolve) and a literal ``__all__``. :func:`lazy_exports` gives it
the module ``__getattr__`` (PEP 562) that imports a name's module when the name is first used,
and refuses, on that first use, a package whose ``__all__`` and imports disagree.

It imports only modules every interpreter has loaded at start-up (``typing`` alone would add
about 10 % to ``import osclc.models``; ``ast`` is imported on first use).
"""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def _declared_imports(init_file: str) -> dict[str, str]:
    """Name -> module of every ``from MODULE import NAME`` directly under ``if TYPE_CHECKING:`` in ``init_file``."""
    import ast

    with open(init_file, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), init_file)
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
                    found.update({alias.asname or alias.name: statement.module for alias in statement.names})
    return found


def lazy_exports(package: str, init_file: str, names: list[str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose ``__init__`` (``init_file``) declares ``names`` as above."""
    sources: dict[str, str] = {}

    def __getattr__(name: str) -> object:
        if not sources:
            sources.update(_declared_imports(init_file))
            if set(sources) != set(names):
                raise ImportError(
                    f"{init_file}: __all__ and the imports under 'if TYPE_CHECKING:' differ "
                    f"(only in __all__: {sorted(set(names) - set(sources))}, only imported: {sorted(set(sources) - set(names))}); "
                    "list every public name in both"
                )
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(sources[name]), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
