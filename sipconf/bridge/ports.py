"""What the bridge needs from a control plane: small ports that a control plane implements.

The bridge never sees a control plane's storage, rooms or HTTP API; it sees only these:

- `TrunkDirectory`: the current trunks and dispatch rules, with a cheap version so the bridge
  decodes them again only when they may have changed (LiveKit's SIP service likewise asks the
  server per call instead of keeping its own copy);
- `ParticipantSink`: a routed call joins its room as a SIP participant, updates its
  attributes (`sip.callStatus`, ...), leaves when the call ends, and hears when the API removed
  the participant (the bridge then hangs the call up);
- `CallRequests`: where the control plane hands in CreateSIPParticipant and
  TransferSIPParticipant; the bridge serves them as a `CallControl`;
- `CallReports` (optional): where the bridge reports each inbound call's progress, as
  LiveKit's SIP service reports call state to its server.

The embedded control plane implements them in its bridge adapter; the conformance runner
and the tests use an in-memory implementation (`sipconf.conformance.memory_ports`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable, Hashable, Mapping, Protocol

from livekit.protocol import sip as sip_pb

__all__ = [
    "CallControl", "CallPhase", "CallReport", "CallReports", "CallRequests", "ControlPlanePorts",
    "ParticipantJoin", "ParticipantRemoved", "ParticipantSink", "TrunkDirectory", "TrunksAndRules",
]

Unsubscribe = Callable[[], None]


# -- trunk directory ------------------------------------------------------------------------


@dataclass(frozen=True)
class TrunksAndRules:
    """Everything routing reads, as the control plane stores it (legacy trunks unconverted)."""

    inbound: tuple[sip_pb.SIPInboundTrunkInfo, ...] = ()
    outbound: tuple[sip_pb.SIPOutboundTrunkInfo, ...] = ()
    legacy: tuple[sip_pb.SIPTrunkInfo, ...] = ()
    rules: tuple[sip_pb.SIPDispatchRuleInfo, ...] = ()


class TrunkDirectory(Protocol):
    def version(self) -> Hashable | None:
        """Cheap: a value that differs whenever the trunks or rules may have changed, so what
        the bridge built from `current()` can be reused while it stays equal. None when
        nothing may be cached right now (the bridge then reads `current()` every time)."""

    def current(self) -> TrunksAndRules:
        """The trunks and rules as they are now."""


# -- participant sink -----------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantJoin:
    """A SIP participant joining `room` (created if needed) as `identity`."""

    room: str
    identity: str
    name: str = ""
    metadata: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ParticipantRemoved:
    """The API took a participant out: `reason` is `removed` (RemoveParticipant) or
    `room_deleted` (DeleteRoom)."""

    room: str
    identity: str
    reason: str


class ParticipantSink(Protocol):
    def join(self, joining: ParticipantJoin) -> str:
        """Join the participant (a rejoin replaces the earlier session); its participant sid."""

    def update_attributes(self, room: str, identity: str, changes: Mapping[str, str]) -> bool:
        """Merge `changes` into the participant's attributes (an empty value deletes the key).
        False when the participant is no longer there (the API removed it meanwhile)."""

    def leave(self, room: str, identity: str) -> None:
        """The call ended on the SIP side: the participant leaves, with no removal event."""

    def on_removed(self, listener: Callable[[ParticipantRemoved], None]) -> Unsubscribe:
        """Call `listener` whenever the API removes a participant; returns the unsubscribe."""


# -- call control ---------------------------------------------------------------------------


class CallControl(Protocol):
    """What the bridge serves. A failed call raises `LiveKitError` with the SIP status in its
    meta (`sip_status_code`, `sip_status`), which the control plane passes on unchanged."""

    async def create_sip_participant(self, req: sip_pb.CreateSIPParticipantRequest) -> sip_pb.SIPParticipantInfo: ...

    async def transfer_sip_participant(self, req: sip_pb.TransferSIPParticipantRequest) -> None: ...


class CallRequests(Protocol):
    def serve(self, control: CallControl) -> Unsubscribe:
        """Hand CreateSIPParticipant / TransferSIPParticipant to `control` from now on; the
        returned function stops that (the control plane then has no bridge again)."""


# -- call reports ---------------------------------------------------------------------------


class CallPhase(enum.Enum):
    SETTLED = "settled"  # the INVITE got its final response, or was dropped without one
    ENDED = "ended"  # the call is over (after a rejection, a hang-up, a shutdown, ...)


@dataclass(frozen=True)
class CallReport:
    """One step of an inbound call. `status` is the INVITE's final status (None: dropped, or
    not answered yet); `room`/`identity` are empty until the call joined a room."""

    sip_call_id: str
    phase: CallPhase
    status: int | None = None
    reason: str = ""
    trunk_id: str = ""
    rule_id: str = ""
    room: str = ""
    identity: str = ""
    end_reason: str = ""


class CallReports(Protocol):
    def report(self, report: CallReport) -> None:
        """Record one step; must not block (it runs inside the call logic)."""


# -- all of them ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ControlPlanePorts:
    """A control plane as the bridge sees it. `reports` is optional: a control plane that
    keeps no call records leaves it out."""

    directory: TrunkDirectory
    participants: ParticipantSink
    calls: CallRequests
    reports: CallReports | None = None
