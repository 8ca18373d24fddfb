"""``osclc config check FILE`` and ``osclc config show KIND``."""

from __future__ import annotations

import argparse

from osclc.lab.config.files import default_yaml, load_config, read_yaml, reference_markdown, update_readme


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
    ref = actions.add_parser("reference", help="print the Markdown reference of every config kind (or --write it into a README)")
    ref.add_argument("--write", metavar="README", default=None, help="replace the reference between the markers of this file")
    ref.set_defaults(func=_reference)


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    data = read_yaml(args.file)
    print(f"{args.file}: valid {data['kind']} config ({type(config).__name__})")
    return 0


def _show(args: argparse.Namespace) -> int:
    print(default_yaml(args.kind), end="")
    return 0


def _reference(args: argparse.Namespace) -> int:
    if args.write:
        changed = update_readme(args.write)
        print(f"{args.write}: config reference {'updated' if changed else 'already up to date'}")
    else:
        print(reference_markdown(), end="")
    return 0
