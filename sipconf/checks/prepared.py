"""The LiveKit messages of a state as the checks see them: secrets filled without the environment.

Static checks run without secrets (`sipconf validate` works on a laptop with no credentials), yet
LiveKit's validation looks at secret fields: an inbound trunk with auth passes the security rule
only if `auth_password` is non-empty, and a PIN is part of a dispatch rule's conflict key. So a
literal secret is used as is and an unresolved one becomes a placeholder naming its reference
(`<env:PIN_SUPPORT>`): non-empty like the real value, and equal exactly when two objects use the
same reference. Placeholders never leave this module's callers as text: messages never print PINs
or passwords.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, TypeVar

from google.protobuf.message import Message

from sipconf.model import DesiredObject, DesiredState, set_path

T = TypeVar("T")


def placeholder_message(obj: DesiredObject) -> Message:
    """A copy of the object's message with every secret filled (literal or placeholder)."""
    out = obj.with_literal_secrets()
    for path, ref in obj.secrets.items():
        if ref.literal is None:
            set_path(out, path, f"<{ref.describe()}>")
    return out


@dataclass(frozen=True)
class Prepared:
    """The state's objects and their placeholder-filled messages, in spec order.

    `Prepared.of(state)` is shared by every check of one run (the messages are copied once,
    and results several checks need, such as the rules LiveKit accepts, are kept in `memo`).
    """

    state: DesiredState

    @classmethod
    def of(cls, state: DesiredState) -> "Prepared":
        global _last
        if _last is None or _last.state is not state:
            _last = cls(state)
        return _last

    @classmethod
    def forget(cls, state: DesiredState) -> None:
        """Drop what `of` keeps for `state`, so the state is freed with its last user."""
        global _last
        if _last is not None and _last.state is state:
            _last = None

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()` once per prepared state and key."""
        memo = self.__dict__.setdefault("_memo", {})
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    @cached_property
    def messages(self) -> dict[tuple[str, str], Message]:
        return {(o.kind, o.name): placeholder_message(o) for o in self.state.objects()}

    def message(self, obj: DesiredObject) -> Message:
        return self.messages[(obj.kind, obj.name)]

    @property
    def inbound(self) -> list[tuple[DesiredObject, Message]]:
        return [(o, self.message(o)) for o in self.state.inbound]

    @property
    def outbound(self) -> list[tuple[DesiredObject, Message]]:
        return [(o, self.message(o)) for o in self.state.outbound]

    @property
    def rules(self) -> list[tuple[DesiredObject, Message]]:
        return [(o, self.message(o)) for o in self.state.rules]


_last: Prepared | None = None
