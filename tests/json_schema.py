"""A small JSON Schema (2020-12) validator: the subset sipconf's schemas use.

One validator for the spec schema (`sipconf schema`) and the plan JSON schema
(docs/plan-json.schema.json).

jsonschema is not a dependency, and these schemas need only a few keywords. A keyword
this validator does not know is an error, so the schema can never silently say more than
the test checks. Keywords apply as the spec says: `pattern` only to strings, `minimum` only
to numbers, `properties` only to objects, and so on.
"""

from __future__ import annotations

import re
from typing import Any

# Annotations: they describe, they do not constrain.
_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "default"})
_KEYWORDS = frozenset(
    {
        "type", "enum", "const", "required", "properties", "additionalProperties", "items",
        "prefixItems", "minItems", "maxItems", "minLength", "pattern", "minimum", "maximum", "oneOf", "anyOf",
        "propertyNames",
        "$ref", "$defs",
    }
)
_TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


class SchemaError(ValueError):
    """The schema itself uses something this validator does not support."""


def errors(schema: dict[str, Any], doc: Any) -> list[str]:
    """Every violation, as `$.path: what`; empty when `doc` is valid."""
    out: list[str] = []
    _check(schema, schema, doc, "$", out)
    return out


def _check(root: dict[str, Any], schema: Any, value: Any, where: str, out: list[str]) -> None:
    if not isinstance(schema, dict):
        raise SchemaError(f"{where}: a schema must be an object, not {schema!r}")
    unknown = set(schema) - _KEYWORDS - _ANNOTATIONS
    if unknown:
        raise SchemaError(f"{where}: unsupported keyword(s) {sorted(unknown)}")
    if "$ref" in schema:
        _check(root, _resolve(root, schema["$ref"]), value, where, out)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            out.append(f"{where}: {_json_type(value)} is not {' or '.join(types)}")
            return
    if "const" in schema and not _equal(value, schema["const"]):
        out.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
        out.append(f"{where}: {value!r} is not one of {schema['enum']!r}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{where}: {value!r} is shorter than {schema['minLength']}")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            out.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if _TYPES["number"](value) and "minimum" in schema and value < schema["minimum"]:
        out.append(f"{where}: {value!r} is less than {schema['minimum']}")
    if _TYPES["number"](value) and "maximum" in schema and value > schema["maximum"]:
        out.append(f"{where}: {value!r} is more than {schema['maximum']}")
    if isinstance(value, dict):
        _check_object(root, schema, value, where, out)
    if isinstance(value, list):
        _check_array(root, schema, value, where, out)
    for keyword, wanted in (("oneOf", lambda n: n == 1), ("anyOf", lambda n: n >= 1)):
        if keyword in schema:
            passing = [s for s in schema[keyword] if not _sub_errors(root, s, value, where)]
            if not wanted(len(passing)):
                out.append(f"{where}: matches {len(passing)} of the {keyword} schemas")


def _check_object(root: dict[str, Any], schema: dict[str, Any], value: dict[str, Any], where: str, out: list[str]) -> None:
    for name in schema.get("required", ()):
        if name not in value:
            out.append(f"{where}: {name!r} is required")
    if "propertyNames" in schema:
        for name in value:
            _check(root, schema["propertyNames"], name, f"{where}[{name!r}]", out)
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            _check(root, properties[name], item, f"{where}.{name}", out)
        elif extra is False:
            out.append(f"{where}: {name!r} is not allowed")
        elif isinstance(extra, dict):
            _check(root, extra, item, f"{where}.{name}", out)


def _check_array(root: dict[str, Any], schema: dict[str, Any], value: list[Any], where: str, out: list[str]) -> None:
    if len(value) < schema.get("minItems", 0):
        out.append(f"{where}: {len(value)} items, fewer than {schema['minItems']}")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(f"{where}: {len(value)} items, more than {schema['maxItems']}")
    prefix = schema.get("prefixItems", [])
    for i, item in enumerate(value):
        if i < len(prefix):
            _check(root, prefix[i], item, f"{where}[{i}]", out)
        elif "items" in schema:
            _check(root, schema["items"], item, f"{where}[{i}]", out)


def _sub_errors(root: dict[str, Any], schema: Any, value: Any, where: str) -> list[str]:
    out: list[str] = []
    _check(root, schema, value, where, out)
    return out


def _resolve(root: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise SchemaError(f"only local references are supported, not {ref!r}")
    target: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(target, dict) or part not in target:
            raise SchemaError(f"unresolvable reference {ref!r}")
        target = target[part]
    return target


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: `true` is not `1`."""
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _json_type(value: Any) -> str:
    return next(name for name, test in _TYPES.items() if test(value) and name != "integer")
