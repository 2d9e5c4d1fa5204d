"""Where calls go: the SIP bridge serves as the `CallBackend` (see `bridge_adapter`).

The control plane validates CreateSIPParticipant / TransferSIPParticipant requests and
hands them over. A backend reports a failed call by raising `LiveKitError` whose code comes
from the SIP status (docs/livekit.md#sip-status-codes) and whose meta holds `sip_status_code`
/ `sip_status` (or `sip_transfer_reason`), so the Python client raises `SipCallError`
(docs/livekit.md#api-errors).
"""

from __future__ import annotations

from typing import Protocol

from livekit.protocol import sip

from sipconf.routing.errors import UNAVAILABLE, LiveKitError


class CallBackend(Protocol):
    async def create_sip_participant(self, req: sip.CreateSIPParticipantRequest) -> sip.SIPParticipantInfo: ...

    async def transfer_sip_participant(self, req: sip.TransferSIPParticipantRequest) -> None: ...


def no_backend_error() -> LiveKitError:
    return LiveKitError(UNAVAILABLE, "no SIP bridge is attached to this control plane, so it cannot place or transfer calls")
