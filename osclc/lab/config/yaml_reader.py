"""Reading a config file safely: only regular files of bounded size, and a strict YAML dialect.

What a config file may contain is what JSON can hold: mappings with unique keys, lists, strings, numbers,
booleans and null. The loader (:class:`StrictLoader`, a PyYAML ``SafeLoader``) therefore

- resolves plain scalars by the YAML 1.2 core schema (``true``/``false`` only, ``1e-3`` is a number,
  ``010`` is ten, ``on``/``yes``/``1:30``/``2024-01-01`` stay strings) instead of YAML 1.1's surprises;
- refuses a key that appears twice in one mapping (PyYAML would silently keep the last), naming the key
  and both lines;
- refuses aliases (``*name``), so no document can expand beyond its size on disk ("billion laughs"),
  and the tags that build non-JSON values (``!!binary``, ``!!set``, ``!!omap``, ``!!pairs``, ``!!timestamp``).

:func:`read_text_bounded` refuses anything that is not a regular file (a FIFO, ``/dev/zero``, a socket)
without blocking on it, and files over :data:`MAX_CONFIG_BYTES`.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 1 << 20
"""Largest config file accepted (bytes): the biggest shipped config is a few kB."""


class ConfigReadError(ValueError):
    """A file that cannot be read as a config (not a regular file, too large, not UTF-8, not strict YAML)."""


def read_text_bounded(path: Path, limit: int = MAX_CONFIG_BYTES) -> str:
    """The UTF-8 text of the regular file ``path`` (at most ``limit`` bytes); :class:`ConfigReadError` otherwise.

    The file is opened non-blocking and checked with ``fstat`` before any read, so a FIFO or a device is
    refused at once instead of blocking or filling memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigReadError(f"{path}: cannot be opened ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigReadError(f"{path}: not a regular file (a device, FIFO or socket); give the path of a YAML config file")
        if info.st_size > limit:
            raise ConfigReadError(f"{path}: {info.st_size} bytes is larger than a config may be ({limit} bytes); give a YAML config file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ConfigReadError(f"{path}: grew beyond {limit} bytes while being read; give a YAML config file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigReadError(f"{path}: not UTF-8 text ({exc}); save the config as UTF-8") from None


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), for plain (unquoted) scalars
_CORE_RESOLVERS: tuple[tuple[str, str, list[str]], ...] = (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     list("-+0123456789.")),
)
_REFUSED_TAGS = ("binary", "set", "omap", "pairs", "timestamp")


class StrictLoader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema, unique keys, no aliases and JSON-only values (module docstring)."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        """Refuse an alias before PyYAML would share (and later expand) the node it names."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"alias *{event.anchor} is not allowed in an osclc config; write the value out", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """The mapping of ``node``; a key given twice is refused, naming it and both lines."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value (not a list or mapping)", key_node.start_mark
                ) from None
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first given at line {first}); keep only one", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """An integer by the YAML 1.2 core schema: decimal (a leading 0 stays decimal), ``0o`` octal, ``0x`` hex."""
        text = str(self.construct_scalar(node))
        try:
            if text.startswith(("0o", "0x")):
                return int(text[2:], 8 if text[1] == "o" else 16)
            return int(text, 10)
        except ValueError:
            raise yaml.constructor.ConstructorError(None, None, f"{text!r} is not an integer", node.start_mark) from None

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        """A float (``!!float`` on a scalar that is not one is refused with its position)."""
        try:
            return super().construct_yaml_float(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"{self.construct_scalar(node)!r} is not a number", node.start_mark
            ) from None

    def refuse_tag(self, node: yaml.Node) -> None:
        """Tags that build non-JSON values are not part of a config."""
        raise yaml.constructor.ConstructorError(
            None, None, f"the tag {node.tag} is not allowed in an osclc config (only mappings, lists, strings, numbers, "
            "booleans and null)", node.start_mark
        )


for _tag, _pattern, _first in _CORE_RESOLVERS:
    StrictLoader.add_implicit_resolver(_tag, re.compile(_pattern), _first)
StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)
for _name in _REFUSED_TAGS:
    StrictLoader.add_constructor(f"tag:yaml.org,2002:{_name}", StrictLoader.refuse_tag)


def parse_yaml(text: str) -> Any:
    """The document in ``text`` by the strict dialect; ``yaml.YAMLError`` (with a mark) for anything refused."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
    except RecursionError:
        raise yaml.YAMLError("nested too deeply (lists or mappings inside each other); flatten the config") from None
