"""Pydantic errors -> `Issue`s at the nearest YAML position, in words a spec author uses."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from sipconf.issues import Issue
from sipconf.spec.values import CUSTOM_PREFIX, describe
from sipconf.spec.yamlsrc import Path, Positions

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "a boolean (true or false)",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "float_type": "a number",
}


# LiveKit's dispatch rules have no priority field; people who look for one need the order.
NO_RULE_PRIORITY = (
    "dispatch rules have no priority in LiveKit: the order is fixed by what each rule lists"
    " (the call's trunk first, then called numbers and callers, then a PIN, then the kind, then the room name);"
    " see the rule order table in docs/routing.md"
)

_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}


def issues_from(error: ValidationError, data: Any, positions: Positions, root: type[BaseModel]) -> list[Issue]:
    out: list[Issue] = []
    for err in error.errors(include_url=False):
        loc = clean_loc(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden" and _is_rule_priority(loc):
            out.append(Issue("error", "no-rule-priority", f"{_label(loc)}{NO_RULE_PRIORITY}", positions.key(loc)))
        elif kind == "extra_forbidden":
            key = loc[-1]
            hint = _did_you_mean(str(key), _allowed_keys(root, loc[:-1]))
            out.append(Issue("error", "unknown-key", f"unknown key '{key}'{hint}", positions.key(loc)))
        elif kind == "missing":
            out.append(
                Issue("error", "missing-key", f"{_label(loc[:-1])}missing required key '{loc[-1]}'", positions.key(loc[:-1]))
            )
        elif kind.startswith(CUSTOM_PREFIX):
            code = kind[len(CUSTOM_PREFIX):].replace("_", "-")
            # A name, or a whole mapping (a rule, a trunk): point at its key, not its first field.
            whole = err["loc"][-1:] == ("[key]",) or isinstance(err.get("input"), dict)
            at = positions.key(loc) if whole else positions.value(loc)
            label = "" if err["loc"][-1:] == ("[key]",) else _label(loc)
            out.append(Issue("error", code, f"{label}{err['msg']}", at))
        else:
            out.append(Issue("error", "invalid-value", f"{_label(loc)}{_message(err, kind)}", positions.value(loc)))
    return out


def _is_rule_priority(loc: Path) -> bool:
    return len(loc) == 3 and loc[0] == "dispatch_rules" and loc[2] == "priority"


def clean_loc(loc: tuple) -> Path:
    """Drop pydantic's bookkeeping (`[key]`, validator and union-member tags) from a loc."""
    return tuple(part for part in loc if part != "[key]" and not (isinstance(part, str) and "[" in part and part.endswith("]")))


def _label(loc: Path) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"{text}: " if text else ""


def _message(err: dict, kind: str) -> str:
    got = describe(err.get("input"))
    if kind in _EXPECTED:
        hint = " (put it in quotes)" if kind == "string_type" and isinstance(err.get("input"), (int, float)) else ""
        return f"expected {_EXPECTED[kind]}, got {got}{hint}"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"expected {expected}, got {_show(err.get('input'))}"
    if kind == "value_error":
        return str(err["ctx"]["error"])
    if kind in _BOUNDS:
        return f"must be {_BOUNDS[kind]} {next(iter(err['ctx'].values()))}, got {_show(err.get('input'))}"
    return err["msg"]


def _show(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _did_you_mean(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _allowed_keys(root: type[BaseModel], loc: Path) -> list[str]:
    """The field names of the model that stands at `loc` (following dicts, lists, optionals)."""
    current: Any = root
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    model = _model_of(current)
    return list(model.model_fields) if model else []


def _step(annotation: Any, part: str | int) -> Any:
    model = _model_of(annotation)
    if model is not None:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field else None
    bare = _strip(annotation)
    origin, args = typing.get_origin(bare), typing.get_args(bare)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin is list and args:
        return args[0]
    return None


def _strip(annotation: Any) -> Any:
    """Unwrap Optional[...] and Annotated[...]."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _model_of(annotation: Any) -> type[BaseModel] | None:
    bare = _strip(annotation)
    return bare if isinstance(bare, type) and issubclass(bare, BaseModel) else None
