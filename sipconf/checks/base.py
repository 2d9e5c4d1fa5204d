"""What every check object shares: a code, a level, and a way to make an `Issue` for an object.

A check is a small frozen dataclass listed in `DEFAULT_CHECKS`. It never raises: it yields
issues, each carrying the origin of the object (or the field) it is about, so the message
printed at the boundary ends in the YAML `file:line:col`.
"""

from __future__ import annotations

from sipconf.issues import Issue, Level
from sipconf.model import DesiredObject, Origin


class CheckBase:
    code: str = ""
    level: Level = "error"

    def issue(self, obj: DesiredObject | None, message: str, *fields: str) -> Issue:
        """An issue at the first of `fields` the object has a position for, else at the object."""
        return Issue(self.level, self.code, message, where(obj, *fields))


def where(obj: DesiredObject | None, *fields: str) -> Origin | None:
    if obj is None:
        return None
    for name in fields:
        origin = obj.field_origins.get(name)
        if origin is not None:
            return origin
    return obj.origin


KIND_LABEL = {
    "inbound_trunk": "inbound trunk",
    "outbound_trunk": "outbound trunk",
    "dispatch_rule": "dispatch rule",
}


def label(obj: DesiredObject) -> str:
    """`inbound trunk "twilio"`: how a message names an object of the spec."""
    return f'{KIND_LABEL[obj.kind]} "{obj.name}"'
