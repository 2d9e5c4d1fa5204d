"""`--only NAME`: plan and apply some objects of a spec, not all (Terraform's `-target`).

A name picks every object so named: a trunk's halves, or a dispatch rule. A picked rule brings
the inbound trunks it lists, since the rule cannot route without them. Nothing else is
created, updated or deleted; the objects left out that use a picked trunk are listed as
dependents, so a reviewer sees what the change reaches but does not change.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable

from google.protobuf.message import Message

from sipconf.errors import UserError
from sipconf.model import DesiredState
from sipconf.model.kinds import INBOUND, RULE
from sipconf.plan.spec_fields import object_path

Key = tuple[str, str]  # (kind, spec name)


@dataclass(frozen=True)
class Dependent:
    """An object `--only` left out that lists a picked trunk: shown, not changed."""

    kind: str
    name: str
    uses: tuple[str, ...]  # the picked trunks' names

    @property
    def path(self) -> str:
        return object_path(self.kind, self.name)

    def describe(self) -> str:
        trunks = ", ".join(object_path(INBOUND, name) for name in self.uses)
        return f"{self.path} uses {trunks}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "path": self.path, "uses": list(self.uses)}

    @classmethod
    def from_json(cls, doc: dict) -> Dependent:
        return cls(doc["kind"], doc["name"], tuple(doc["uses"]))


@dataclass(frozen=True)
class Selection:
    names: tuple[str, ...]  # as given to --only
    keys: frozenset[Key]  # the picked objects and the trunks their rules list

    def picks(self, kind: str, name: str) -> bool:
        return (kind, name) in self.keys


def select(names: Iterable[str], desired: DesiredState, live_keys: Iterable[Key]) -> Selection:
    """The objects `--only names` picks among the spec's and the live managed ones (a delete
    is picked by the name of the object it deletes). Unknown names: one UserError line each."""
    names = tuple(dict.fromkeys(names))
    known = {(o.kind, o.name) for o in desired.objects()} | set(live_keys)
    known_names = sorted({name for _kind, name in known})
    errors = [_unknown(name, known_names) for name in names if name not in known_names]
    if errors:
        raise UserError(*errors)
    keys = {key for key in known if key[1] in names}
    for obj in desired.rules:
        if (RULE, obj.name) in keys:
            keys |= {(INBOUND, trunk) for trunk in obj.message.trunk_ids}
    return Selection(names, frozenset(keys))


def dependents(selection: Selection, rules: Iterable[tuple[str, Message]]) -> tuple[Dependent, ...]:
    """The rules (spec name, message in name space) left out that list a picked inbound trunk."""
    picked_trunks = {name for kind, name in selection.keys if kind == INBOUND}
    found = {}
    for name, rule in rules:
        uses = tuple(sorted(picked_trunks & set(rule.trunk_ids)))
        if uses and not selection.picks(RULE, name):
            found[name] = Dependent(RULE, name, uses)
    return tuple(found[name] for name in sorted(found))


def _unknown(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else "it names no trunk or dispatch rule of the spec or the live project"
    return f"--only {name}: no object is named {name!r}; {hint}"
