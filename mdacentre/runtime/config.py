"""Operator files as pydantic models: one reader, one way to explain a mistake.

Every operator file (settings, ``feeds/*.toml``, ``alerting/routing.toml``, the profiles and
``[detectors.*]`` tables of ``geofences/profiles.toml``) is described by a :class:`ConfigModel`
that refuses unknown keys. :func:`validate` turns pydantic's ``ValidationError`` into one
:class:`~mdacentre.model.errors.ConfigError` with one line per problem, each naming the file,
the key (dotted; array entries as ``agency #2 ('jm-cg')``) and what to write instead, with a
"did you mean" for misspelt keys. The same models give the JSON Schemas shipped next to the files
(:func:`json_schema`), so an editor checks a file while it is written.
"""

from __future__ import annotations

import difflib
import tomllib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    Strict,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from mdacentre.model.errors import ConfigError
from mdacentre.model.findings import Level

T = TypeVar("T")
Flag = Annotated[bool, Strict()]  # a TOML boolean: true or false, never the string "yes"
KeyName = Callable[[Sequence[Any], Any], str]  # (error location, the data validated) -> key as shown

# every operator-file model is a ConfigModel, or a pydantic dataclass with FORBID as its config
FORBID = ConfigDict(extra="forbid")

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class ConfigModel(BaseModel):
    """Base of every operator-file model: unknown keys refused, values frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # how an unknown key is called in messages ("setting" for the settings file)
    key_noun: ClassVar[str] = "key"


# -- reading -------------------------------------------------------------------------------------


def read_toml(path: Path, what: str, fix: str = "") -> dict[str, Any]:
    """The parsed TOML document at ``path``; a missing or broken file is a one-line :class:`ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        hint = f"; {fix}" if fix else ""
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}{hint}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax at the position shown") from None


def validate(
    model: type[T],
    data: Any,
    source: str,
    context: Mapping[str, Any] | None = None,
    key_name: KeyName | None = None,
) -> T:
    """``model`` validated from ``data``; every problem explained in one :class:`ConfigError`.

    ``key_name`` renders an error's location (default: dotted keys, see :func:`dotted`).
    """
    try:
        return TypeAdapter(model).validate_python(data, context=dict(context or {}))
    except ValidationError as exc:
        raise ConfigError(explain(exc, model, data, source, key_name)) from None


# -- explaining ----------------------------------------------------------------------------------

_TYPE_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "a string (text in quotes)",
    "list": 'a list, e.g. ["a", "b"]',
    "dict": "a table",
    "model": "a table",
}
_TYPE_OF_ERROR = {
    "int_parsing": "int",
    "int_type": "int",
    "int_from_float": "int",
    "float_parsing": "float",
    "float_type": "float",
    "bool_parsing": "bool",
    "bool_type": "bool",
    "string_type": "string",
    "list_type": "list",
    "tuple_type": "list",
    "set_type": "list",
    "frozen_set_type": "list",
    "dict_type": "dict",
    "model_type": "model",
    "model_attributes_type": "model",
    "dataclass_type": "model",
}
_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def explain(
    exc: ValidationError, model: type[Any], data: Any, source: str, key_name: KeyName | None = None
) -> str:
    """One line per problem: ``{source}: {key}: {what is wrong and what to write}``."""
    name = key_name or dotted
    lines: list[str] = []
    missing: dict[tuple[Any, ...], list[str]] = {}
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if err["type"] == "missing" and loc:
            missing.setdefault(loc[:-1], []).append(str(loc[-1]))
            continue
        line = _line(err, loc, model, data, source, name)
        if line not in lines:
            lines.append(line)
    for parent, keys in missing.items():
        required = sorted(_required_keys(model, parent))
        where = name(parent, data)
        needs = (
            (f"; every entry needs {required}" if len(parent) else f"; required: {required}")
            if required
            else ""
        )
        lines.append(f"{source}: {where + ': ' if where else ''}missing {sorted(keys)}{needs}")
    return "\n".join(lines)


def _line(
    err: ErrorDetails, loc: tuple[Any, ...], model: type[Any], data: Any, source: str, name: KeyName
) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind in ("extra_forbidden", "unexpected_keyword_argument") and loc:
        key = str(loc[-1])
        allowed = sorted(_keys(model, loc[:-1]))
        hint = difflib.get_close_matches(key, allowed, n=1)
        also = f" (did you mean {hint[0]!r}?)" if hint else ""
        noun = _noun(model, loc[:-1])
        where = name(loc[:-1], data)
        return (
            f"{source}: {where + ': ' if where else ''}unknown {noun} {key!r}{also}; allowed keys: {allowed}"
        )
    where = name(loc, data)
    if kind in ("value_error", "assertion_error"):
        msg = str(ctx.get("error", err["msg"]))
        leaf = str(loc[-1]) if loc else ""
        if leaf and (msg.startswith((f"'{leaf}' ", f"{leaf} "))):
            where = name(loc[:-1], data)  # the message names its key already
        return f"{source}: {where}: {msg}" if where else f"{source}: {msg}"
    if kind in _TYPE_OF_ERROR:
        t = _TYPE_OF_ERROR[kind]
        shown = "table" if t in ("dict", "model") else t
        return f"{source}: {where} must be {_TYPE_WORDS[t]} ({value!r} is not a valid {shown})"
    if kind in _BOUNDS:
        op, ctx_key = _BOUNDS[kind]
        bound = ctx.get(ctx_key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"{source}: {where} must be {op} {bound}, not {value!r}"
    if kind in ("enum", "literal_error"):
        return f"{source}: {where} {value!r} unknown; use one of {ctx.get('expected', '')}"
    if kind in ("too_short", "too_long"):
        return f"{source}: {where} must have {_count(ctx)} entries, got {value!r}"
    if kind == "string_pattern_mismatch":
        return f"{source}: {where} {value!r} does not match {ctx.get('pattern')}"
    return f"{source}: {where}: {err['msg']} (got {value!r})"


def _count(ctx: Mapping[str, Any]) -> str:
    lo, hi = ctx.get("min_length"), ctx.get("max_length")
    if lo is not None and hi is None:
        return f"at least {lo}"
    if hi is not None and lo is None:
        return f"at most {hi}"
    return f"{lo}-{hi}"


def dotted(loc: Sequence[Any], data: Any) -> str:
    """``mqtt.port``; an array entry as ``agency #2 ('jm-cg')`` (its id or name when it has one)."""
    out = ""
    node = data
    after_entry = False
    for part in loc:
        if part == "[key]":
            continue  # pydantic's marker for "the key of this table entry"
        if isinstance(part, int):
            label = ""
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            if isinstance(item, Mapping):
                tag = next((item[k] for k in ("id", "name") if isinstance(item.get(k), str)), None)
                label = f" ({tag!r})" if tag is not None else ""
            out = f"{out} #{part + 1}{label}"
            node = item
            after_entry = True
        else:
            out = f"{out}{': ' if after_entry else '.'}{part}" if out else str(part)
            node = node.get(part) if isinstance(node, Mapping) else None
            after_entry = False
    return out


def _fields(cls: Any) -> dict[str, FieldInfo] | None:
    """The fields of a pydantic model or pydantic dataclass (None for anything else)."""
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return dict(cls.model_fields)
    found = getattr(cls, "__pydantic_fields__", None)
    return dict(found) if isinstance(found, dict) else None


def _model_at(model: type[Any], loc: Sequence[Any]) -> Any:
    cur: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = _fields(cur)
        if fields is None:
            return None
        field = fields.get(str(part)) or next((f for f in fields.values() if f.alias == part), None)
        if field is None:
            return None
        cur = _inner_model(field.annotation)
    return cur if _fields(cur) is not None else None


def _inner_model(annotation: Any) -> Any:
    if _fields(annotation) is not None:
        return annotation
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return None
    args = typing.get_args(annotation)
    if origin in (dict, Mapping):
        args = args[1:]
    for a in args:
        found = _inner_model(a)
        if found is not None:
            return found
    return None


def _keys(model: type[Any], loc: Sequence[Any]) -> list[str]:
    fields = _fields(_model_at(model, loc))
    return [f.alias or name for name, f in fields.items()] if fields else []


def _required_keys(model: type[Any], loc: Sequence[Any]) -> list[str]:
    fields = _fields(_model_at(model, loc))
    return [f.alias or name for name, f in fields.items() if f.is_required()] if fields else []


def _noun(model: type[Any], loc: Sequence[Any]) -> str:
    m = _model_at(model, loc)
    return getattr(m, "key_noun", "key") if m else "key"


# -- schemas -------------------------------------------------------------------------------------


def json_schema(model: type[Any], title: str, description: str) -> dict[str, Any]:
    """The JSON Schema of an operator file (draft 2020-12), as shipped next to the file."""
    out: dict[str, Any] = {"$schema": SCHEMA_DIALECT}
    out.update(TypeAdapter(model).json_schema(mode="validation"))
    out["title"] = title
    out["description"] = description
    return out


# -- shared field types ----------------------------------------------------------------------------


def _level(value: Any) -> Level:
    if isinstance(value, Level):
        return value
    try:
        return Level.parse(str(value))
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


LevelName = Annotated[
    Level,
    BeforeValidator(_level),
    PlainSerializer(lambda lv: lv.label, return_type=str),
    WithJsonSchema({"enum": [lv.label for lv in Level], "description": "alert level"}),
]
