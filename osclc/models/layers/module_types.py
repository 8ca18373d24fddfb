"""Typed access to the modules a container holds: ``nn.ModuleList[i]`` is typed ``nn.Module``, whatever it holds."""

from __future__ import annotations

from typing import TypeVar

from torch import nn

M = TypeVar("M", bound=nn.Module)


def module_as(module: nn.Module, kind: type[M]) -> M:
    """``module`` typed as ``kind``; TypeError naming both when it is not one (a container filled with the wrong layers)."""
    if not isinstance(module, kind):
        raise TypeError(f"expected a {kind.__name__} here, got a {type(module).__name__}; build the model with its own constructor")
    return module
