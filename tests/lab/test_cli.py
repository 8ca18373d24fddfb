"""The ``osclc`` entry point: help on every command, global options, error exit codes."""

from __future__ import annotations

import argparse

import pytest

from osclc.lab.cli.main import build_parser, main
from osclc.models.torch_device import select_device


def _subcommands(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from ((f"{name} {n}", s) for n, s in _subcommands(sub))


def test_every_command_has_help(capsys):
    parser = build_parser()
    names = [name for name, _ in _subcommands(parser)]
    assert {"config", "config check", "config show", "runs", "runs list", "runs show", "runs compare"} <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as exit_info:
            main([*name.split(), "--help"])
        assert exit_info.value.code == 0
        assert "usage: osclc" in capsys.readouterr().out


def test_device_selection():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="--device"):
        select_device("quantum")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            select_device("cuda")


def test_unknown_command_is_an_argparse_error():
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
