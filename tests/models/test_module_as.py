"""``module_as``: a module held by an ``nn.ModuleList`` comes back typed when it is the expected kind, and a
container holding the wrong kind is named (instead of an AttributeError deep in a forward pass)."""

from __future__ import annotations

import pytest
from torch import nn

from osclc.models.layers.module_types import module_as


def test_module_as_returns_the_same_module_when_it_is_of_the_kind():
    layers = nn.ModuleList([nn.BatchNorm2d(3), nn.Linear(2, 2)])
    assert module_as(layers[0], nn.BatchNorm2d) is layers[0]
    assert module_as(layers[1], nn.Module) is layers[1]


def test_module_as_names_the_expected_and_the_found_kind():
    with pytest.raises(TypeError, match=r"expected a BatchNorm2d here, got a Linear"):
        module_as(nn.Linear(2, 2), nn.BatchNorm2d)
