"""``osclc config check FILE`` and ``osclc config show KIND``."""

from __future__ import annotations

import argparse

from osclc.lab.config_files import default_yaml, load_config, read_yaml


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``config`` command and its ``check`` / ``show`` subcommands."""
    parser = sub.add_parser("config", help="check a config file, or print a commented default config")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    check = actions.add_parser("check", help="validate a YAML config (its top-level 'kind' picks the schema)")
    check.add_argument("file", help="path of the YAML config")
    check.set_defaults(func=_check)
    show = actions.add_parser("show", help="print the default config of a kind, every key commented with its unit")
    show.add_argument("kind", help="config kind: bench, train, loop, ...")
    show.set_defaults(func=_show)


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    data = read_yaml(args.file)
    print(f"{args.file}: valid {data['kind']} config ({type(config).__name__})")
    return 0


def _show(args: argparse.Namespace) -> int:
    print(default_yaml(args.kind), end="")
    return 0
