"""TransferSIPParticipantRequest validation and `transfer_to` normalisation
(docs/livekit.md#transfer-validation).

The stored form is what LiveKit puts verbatim into the REFER's `Refer-To`: SIP(S) URIs
in angle brackets, `tel:` URIs bare. Nothing past the scheme is checked (parameters,
`?headers` and commas are kept), so the SIP service and the peer see exactly what the
caller wrote.
"""

from __future__ import annotations

from sipconf.validation import headers
from sipconf.validation.result import Validation, verdict

BAD_SCHEME = "transfer_to must be a valid SIP(s) or TEL URI (sip:, sips: or tel:)"


def normalize_transfer_to(transfer_to: str) -> tuple[str, str | None]:
    """(normalised transfer_to, error). On error the input is returned unchanged."""
    inner = transfer_to
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    if inner.startswith(("sip:", "sips:")):
        return f"<{inner}>", None
    if inner.startswith("tel:"):
        return inner, None
    return transfer_to, BAD_SCHEME


def check_transfer_request(req) -> tuple[str, str | None, list[str]]:
    """(normalised transfer_to, first hard error, soft errors) for a transfer request."""
    if not req.room_name:
        return req.transfer_to, "missing room name", []
    if not req.participant_identity:
        return req.transfer_to, "missing participant identity", []
    if not req.transfer_to:
        return req.transfer_to, "missing transfer to", []
    normalised, problem = normalize_transfer_to(req.transfer_to)
    if problem:
        return normalised, problem, []
    hard, soft = headers.check_headers(req.headers)
    return normalised, hard, soft


def validate_transfer_request(req) -> tuple[str, Validation]:
    """Validate `req` (TransferSIPParticipantRequest); return the `transfer_to` to store."""
    normalised, hard, soft = check_transfer_request(req)
    return normalised, verdict(hard, soft)
