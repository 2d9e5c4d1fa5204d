"""`sipconf fmt`: one way to write a spec, so that reviews show changes, not style.

The file is read with ruamel's round-trip loader, which keeps comments, quotes and flow or
block style, and rewritten with two changes only:
- the keys of every object in the order the schema lists them (`sipconf schema`), names and
  free-form maps (headers, attributes, tags) left as written;
- every `numbers`, `allowed_numbers` and `inbound_numbers` list sorted, phone numbers before
  `{user: ...}` entries, runs of three or more consecutive numbers written as one range
  (`"+15105550100..+15105550119"`, `{user: "1000..1099"}`), the form `sipconf import` writes.
  Duplicates are kept, since removing one would hide a mistake the checks report.
A list already in that form is left alone, comments and all; in one that is rewritten, an
entry's comment moves to the entry that now holds its number. What the spec means does not
change: `same_meaning` compares the two loads and the command refuses to write otherwise.
"""

from __future__ import annotations

import io
import typing
from typing import Any

from google.protobuf.message import Message
from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from sipconf.model import DesiredState
from sipconf.plan.ranges import collapse, sort_key
from sipconf.spec.models import DispatchRule, Environment, Spec, Trunk
from sipconf.spec.numbers import expand

NUMBER_FIELDS = frozenset({"numbers", "allowed_numbers", "inbound_numbers"})
# An overlay's trunks and rules are free-form mappings in the model (they are merged before
# validation), but they are partial trunks and rules: their keys go in the same order.
_OVERLAY_OF = {(Environment, "trunks"): Trunk, (Environment, "dispatch_rules"): DispatchRule}


def format_text(text: str) -> str:
    """The spec `text` formatted; `text` must be a spec that loads (`sipconf.spec.loads`)."""
    yaml = _yaml()
    doc = yaml.load(text)
    if isinstance(doc, CommentedMap):
        _order(doc, Spec)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long flow list or string
    yaml.indent(mapping=2, sequence=4, offset=2)  # `- item` two columns in, as docs/spec.md writes lists
    return yaml


def _order(node: CommentedMap, model: type[BaseModel]) -> None:
    """Put `node`'s keys in `model`'s field order (unknown keys, which a loading spec has
    none of, last), then do the same below each key."""
    rank = {name: i for i, name in enumerate(model.model_fields)}
    keys = list(node)
    ordered = sorted(keys, key=lambda k: (rank.get(k, len(rank)), keys.index(k)))
    if ordered != keys:
        for key in ordered:
            node.move_to_end(key)
    for key in ordered:
        info = model.model_fields.get(key)
        if info is None:
            continue
        value = node[key]
        if key in NUMBER_FIELDS and isinstance(value, CommentedSeq):
            _numbers(value)
            continue
        overlay = _OVERLAY_OF.get((model, key))
        if overlay is not None and isinstance(value, CommentedMap):
            for item in value.values():
                if isinstance(item, CommentedMap):
                    _order(item, overlay)
            continue
        _descend(value, info.annotation)


def _descend(value: Any, annotation: Any) -> None:
    """Order what stands below a field of type `annotation`: a model, a map of models, a list of models."""
    for model, shape in _models_in(annotation):
        if shape == "one" and isinstance(value, CommentedMap):
            _order(value, model)
        elif shape == "map" and isinstance(value, CommentedMap):
            for item in value.values():
                if isinstance(item, CommentedMap):
                    _order(item, model)
        elif shape == "list" and isinstance(value, CommentedSeq):
            for item in value:
                if isinstance(item, CommentedMap):
                    _order(item, model)


def _models_in(annotation: Any) -> list[tuple[type[BaseModel], str]]:
    """The models a field holds: `Model | None` -> one, `dict[str, Model]` -> map, `list[Model]` -> list."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, "one")]
    if origin is typing.Annotated:
        return _models_in(args[0])
    if origin is dict and len(args) == 2:
        return [(m, "map") for m, shape in _models_in(args[1]) if shape == "one"]
    if origin is list and args:
        return [(m, "list") for m, shape in _models_in(args[0]) if shape == "one"]
    return [found for arg in args for found in _models_in(arg)]  # a union: `Model | None`


def _numbers(seq: CommentedSeq) -> None:
    """Sort and collapse one numbers list in place, keeping each entry's comment."""
    phones: list[tuple[str, int]] = []  # (number, the entry it came from)
    users: list[tuple[str, int]] = []
    for i, entry in enumerate(seq):
        if isinstance(entry, str):
            phones += [(n, i) for n in expand(entry)]
        else:
            users += [(n, i) for n in expand(str(entry["user"]))]
    entries = _collapsed(phones) + [{"user": text} for text in _collapsed(users)]
    if entries == [_plain(entry) for entry in seq]:
        return  # already formatted: not touched, quoting and comments as they were
    home = _home_of(phones) + [
        (i, len(_collapsed(phones)) + j) for i, j in _home_of(users)
    ]
    comments = dict(seq.ca.items)
    seq.clear()
    seq.ca.items.clear()
    for entry in entries:
        if isinstance(entry, dict):
            user = CommentedMap(user=DoubleQuotedScalarString(entry["user"]))
            user.fa.set_flow_style()
            seq.append(user)
        else:
            seq.append(DoubleQuotedScalarString(entry))
    for old, new in home:
        if old in comments:
            _add_comment(seq, new, comments.pop(old))


def _collapsed(numbers: list[tuple[str, int]]) -> list[str]:
    return collapse(sorted((n for n, _i in numbers), key=sort_key))


def _home_of(numbers: list[tuple[str, int]]) -> list[tuple[int, int]]:
    """(old entry, new entry) for each old entry: the new entry that holds its first number."""
    ordered = sorted(numbers, key=lambda pair: sort_key(pair[0]))
    new_of_number: dict[int, int] = {}
    position, index = 0, -1
    entries = collapse([n for n, _i in ordered])
    sizes = [len(expand(e)) for e in entries]
    for index, size in enumerate(sizes):
        for _ in range(size):
            new_of_number[position] = index
            position += 1
    first: dict[int, int] = {}
    for position, (_number, old) in enumerate(ordered):
        first.setdefault(old, new_of_number[position])
    return sorted(first.items())


def _add_comment(seq: CommentedSeq, index: int, comment: list) -> None:
    """Give entry `index` the comment an old entry had; two comments on one entry are both kept."""
    have = seq.ca.items.get(index)
    if have is None or have[0] is None:
        seq.ca.items[index] = comment
    elif comment and comment[0] is not None:
        have[0].value = have[0].value.rstrip("\n") + " " + comment[0].value.lstrip()


def _plain(entry: Any) -> Any:
    if isinstance(entry, str):
        return str(entry)
    return {"user": str(entry["user"])}


def same_meaning(before: DesiredState, after: DesiredState) -> bool:
    """Whether two loads of a spec give LiveKit the same objects: the same names, ownership,
    secret references and messages, numbers compared as the sets LiveKit treats them as."""
    return _meaning(before) == _meaning(after)


def _meaning(state: DesiredState) -> tuple:
    objects = sorted(
        (obj.kind, obj.name, obj.managed, _message_bytes(obj.message),
         tuple(sorted((path, ref.describe()) for path, ref in obj.secrets.items())))
        for obj in state.objects()
    )
    return (state.version, state.project, state.environment, state.url, tuple(objects))


def _message_bytes(msg: Message) -> bytes:
    copy = type(msg)()
    copy.CopyFrom(msg)
    for field in NUMBER_FIELDS:
        if hasattr(copy, field):
            values = sorted(getattr(copy, field))
            copy.ClearField(field)
            getattr(copy, field).extend(values)
    return copy.SerializeToString(deterministic=True)
