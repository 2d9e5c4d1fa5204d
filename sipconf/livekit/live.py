"""What the adapter reads: every live trunk and dispatch rule, as LiveKit returned them."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from sipconf.model.kinds import INBOUND, OUTBOUND, RULE


@dataclass(frozen=True)
class LiveState:
    """Everything the three list calls returned, untouched (the ledger trunk included)."""

    inbound: tuple[Message, ...] = ()
    outbound: tuple[Message, ...] = ()
    rules: tuple[Message, ...] = ()

    def of_kind(self, kind: str) -> tuple[Message, ...]:
        return {INBOUND: self.inbound, OUTBOUND: self.outbound, RULE: self.rules}[kind]
