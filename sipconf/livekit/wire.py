"""Model messages shaped as LiveKit request bodies, just before a write."""

from __future__ import annotations

from typing import Mapping

from google.protobuf.message import Message

from sipconf.errors import UserError
from sipconf.model.kinds import ID_FIELD, RULE


def to_live(kind: str, name: str, msg: Message, trunk_ids: Mapping[str, str]) -> Message:
    """A resolved model message as the request body of a create or replace.

    The id is cleared (LiveKit assigns it; `replace` requires it empty or equal), `name` is the
    spec name, and a rule's trunk names become the live inbound trunk ids in `trunk_ids`.
    """
    out = type(msg)()
    out.CopyFrom(msg)
    out.ClearField(ID_FIELD[kind])
    out.name = name
    if kind == RULE:
        ids = []
        for trunk in out.trunk_ids:
            if trunk not in trunk_ids:
                raise UserError(f"dispatch rule {name!r} names inbound trunk {trunk!r}, which does not exist live")
            ids.append(trunk_ids[trunk])
        del out.trunk_ids[:]
        out.trunk_ids.extend(ids)
    return out
