"""YAML config files validated by pydantic models, with errors that name the field and the fix.

A config file is a YAML mapping whose top-level ``kind`` names its schema (``bench``, ``train``,
``loop``, ...; see :data:`osclc.lab.config.kinds.KINDS`). Every schema forbids unknown keys and
puts a unit and a range on each number, so a bad file fails before anything runs.
"""

from __future__ import annotations

import json
import textwrap
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import yaml
from pydantic import BaseModel, Tag, ValidationError

from osclc.lab.config.yaml_reader import ConfigReadError, parse_yaml, read_text_bounded
from osclc.storage import save_text

if TYPE_CHECKING:  # the schemas are imported where a config is loaded, so that reading this module loads none of them
    from osclc.drivers.bench_config import BenchConfig
    from osclc.lab.loop.config import LoopConfig
    from osclc.models.training.config import TrainConfig

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(ValueError):
    """A config that cannot be used; the message names the file, the field, the value and the fix."""


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from ``path`` by the strict dialect of :mod:`osclc.lab.config.yaml_reader`; raise
    :class:`ConfigError` for a missing, special, oversized, unreadable or non-mapping file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file; give the path of an existing YAML config")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; give the path of a YAML config file")
    try:
        data = parse_yaml(read_text_bounded(path))
    except ConfigReadError as exc:
        raise ConfigError(str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values, got {type(data).__name__}")
    return data


def _format_location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            text = str(item)
            parts.append(("." if parts else "") + (text if text.isprintable() else repr(text)))
    return "".join(parts) or "(top level)"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """Field names of the sub-model that ``loc`` (ending in the bad key) lives in, if it can be found."""
    current: Any = model
    for item in loc[:-1]:
        if isinstance(current, dict):  # a union of models: pydantic names the member by its tag
            current = current.get(item)
            continue
        if isinstance(item, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(item))
        if field is None:
            return None
        members = _models_in(field.annotation)
        current = members if len(members) > 1 else next(iter(members.values()), None)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _models_in(annotation: Any) -> dict[str, type[BaseModel]]:
    """The BaseModel classes in ``Model``, ``Model | None`` or a union of models, by union tag (else class name)."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    found: dict[str, type[BaseModel]] = {}
    for arg in typing.get_args(annotation) if union else (annotation,):
        tags = [meta.tag for meta in getattr(arg, "__metadata__", ()) if isinstance(meta, Tag)]
        target = typing.get_args(arg)[0] if typing.get_origin(arg) is typing.Annotated else arg
        if isinstance(target, type) and issubclass(target, BaseModel):
            found[tags[0] if tags else target.__name__] = target
    return found


def format_validation_error(exc: ValidationError, model: type[BaseModel], source: str) -> str:
    """``source: field.path: message (got value)`` (with the allowed keys for unknown ones): one line for one problem,
    else a header and one line per problem."""
    lines = [f"{source}: {exc.error_count()} problem(s) in the {model.__name__} config:"]
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = _format_location(loc)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
            lines.append(f"  {where}: unknown key{hint}")
            continue
        if err["type"] == "missing":
            lines.append(f"  {where}: required field is missing")
            continue
        value = err.get("input")
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        lines.append(f"  {where}: {err['msg']} (got {shown})")
    if len(lines) == 2:  # one problem: one line
        return f"{source}: {lines[1].strip()}"
    return "\n".join(lines)


def validate(data: dict[str, Any], model: type[ModelT], source: str = "config") -> ModelT:
    """Validate a mapping read from a file against ``model`` strictly; raise :class:`ConfigError` with every problem named.

    Strict as JSON is: no coercion (``'5'`` is not a number, ``true`` is not a count, ``4.0`` is not an
    integer), except that an integer is a valid float; lists are valid tuples.
    """
    try:
        text = json.dumps(data, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: holds a value a config cannot ({exc}); use mappings, lists, strings, numbers, booleans, null") from None
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, model, source)) from None


@overload
def load_config(path: str | Path, kind: Literal["bench"]) -> BenchConfig: ...
@overload
def load_config(path: str | Path, kind: Literal["train"]) -> TrainConfig: ...
@overload
def load_config(path: str | Path, kind: Literal["loop"]) -> LoopConfig: ...
@overload
def load_config(path: str | Path, kind: str | None = None) -> BaseModel: ...


def load_config(path: str | Path, kind: str | None = None) -> BaseModel:
    """Load and validate a config file; its top-level ``kind`` picks the schema (or must equal ``kind``).

    With a literal ``kind`` (``"bench"``, ``"train"``, ``"loop"``) the result is typed as that kind's model
    (one overload per entry of :data:`osclc.lab.config.kinds.KINDS`); without one it is the model the file names.
    """
    from osclc.lab.config.kinds import KINDS

    data = read_yaml(path)
    found = data.get("kind")
    if found is None:
        raise ConfigError(
            f"{path}: kind: required field is missing; add a top-level 'kind:' with one of {', '.join(KINDS)}"
        )
    if not isinstance(found, str) or found not in KINDS:
        raise ConfigError(f"{path}: kind: unknown config kind {found!r}; allowed: {', '.join(KINDS)}")
    if kind is not None and found != kind:
        raise ConfigError(f"{path}: kind: this command needs a {kind!r} config, the file is a {found!r} config")
    return validate(data, KINDS[found], str(path))


# ---------------------------------------------------------------- defaults and reference


def _describe(field: Any) -> str:
    return " ".join((field.description or "").split())


def _yaml_scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def commented_yaml(instance: BaseModel, indent: int = 0) -> str:
    """YAML of ``instance`` with each field's description (units, range) as a comment above it."""
    pad = "  " * indent
    lines: list[str] = []
    for name, field in type(instance).model_fields.items():
        description = _describe(field)
        if description:
            for chunk in textwrap.wrap(description, width=96 - len(pad)):
                lines.append(f"{pad}# {chunk}")
        value = getattr(instance, name)
        if isinstance(value, BaseModel):
            lines.append(f"{pad}{name}:")
            lines.append(commented_yaml(value, indent + 1))
        else:
            dumped = value.model_dump(mode="json") if isinstance(value, BaseModel) else _jsonable(value)
            if isinstance(dumped, (dict, list)) and dumped:
                block = yaml.safe_dump({name: dumped}, sort_keys=False, default_flow_style=False).rstrip()
                lines.extend(pad + line for line in block.splitlines())
            else:
                lines.append(f"{pad}{name}: {_yaml_scalar(dumped)}")
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return value.value
    return value


def default_yaml(kind: str) -> str:
    """The default config of ``kind`` as commented YAML (what ``osclc config show KIND`` prints)."""
    from osclc.lab.config.kinds import KINDS

    if kind not in KINDS:
        raise ConfigError(f"kind: unknown config kind {kind!r}; allowed: {', '.join(KINDS)}")
    model = KINDS[kind]
    header = f"# osclc {kind} config ({model.__name__}); check it with: osclc config check FILE\n"
    return header + commented_yaml(model()) + "\n"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _constraints(field: Any) -> str:
    parts = []
    for meta in field.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "len >="), ("max_length", "len <=")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sym} {value}")
    return ", ".join(parts)


def _reference_rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        members = _models_in(field.annotation)
        for target in members.values():  # several: a union, one block per member
            member = " ".join((target.__doc__ or "").split()) if len(members) > 1 else ""
            rows.append(f"| `{path}` | {target.__name__} | | {_describe(field)}{'. ' + member if member else ''} |")
            rows.extend(_reference_rows(target, path + "."))
        if members:
            continue
        default = field.get_default(call_default_factory=True)
        shown = _yaml_scalar(_jsonable(default)) if not field.is_required() else "*required*"
        allowed = _constraints(field)
        rows.append(
            f"| `{path}` | {_type_name(field.annotation)}{' (' + allowed + ')' if allowed else ''} | `{shown}` | {_describe(field)} |"
        )
    return rows


def reference_markdown() -> str:
    """Markdown reference of every config kind, generated from the pydantic models (kept in the README)."""
    from osclc.lab.config.kinds import KINDS

    out: list[str] = []
    for kind, model in KINDS.items():
        doc = " ".join((model.__doc__ or "").split())
        out.append(f"### `{kind}` config ({model.__name__})\n")
        if doc:
            out.append(doc + "\n")
        out.append("| key | type (range) | default | meaning (unit) |")
        out.append("| --- | --- | --- | --- |")
        out.extend(_reference_rows(model, ""))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


README_START = "<!-- config-reference:start (generated by `osclc config reference --write README.md`) -->"
README_END = "<!-- config-reference:end -->"


def update_readme(path: str | Path) -> bool:
    """Replace the config reference between the README markers; True when the file changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise ConfigError(f"{path}: no config-reference markers; add {README_START!r} and {README_END!r}")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    new = f"{head}{README_START}\n\n{reference_markdown()}\n{README_END}{tail}"
    if new == text:
        return False
    save_text(path, new)
    return True
