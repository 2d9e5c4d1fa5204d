"""TransferSIPParticipantRequest validation (docs/livekit.md#transfer-validation)."""

from __future__ import annotations

import pytest
from livekit.protocol import sip

from sipconf.validation.transfer import validate_transfer_request


def req(**kw) -> sip.TransferSIPParticipantRequest:
    kw.setdefault("room_name", "room")
    kw.setdefault("participant_identity", "p")
    kw.setdefault("transfer_to", "tel:+1555")
    return sip.TransferSIPParticipantRequest(**kw)


@pytest.mark.parametrize(
    "kw, problem",
    [
        ({"room_name": ""}, "missing room name"),
        ({"participant_identity": ""}, "missing participant identity"),
        ({"transfer_to": ""}, "missing transfer to"),
        ({"transfer_to": "mailto:a@b"}, "transfer_to must be a valid SIP(s) or TEL URI (sip:, sips: or tel:)"),
        ({"transfer_to": "SIP:a@b"}, "transfer_to must be a valid SIP(s) or TEL URI (sip:, sips: or tel:)"),
        ({"transfer_to": "<sip:a@b"}, "transfer_to must be a valid SIP(s) or TEL URI (sip:, sips: or tel:)"),
        ({"headers": {"Call-ID": "x"}}, "invalid header name: header name Call-ID not supported"),
    ],
)
def test_errors(kw, problem):
    transfer_to, result = validate_transfer_request(req(**kw))
    assert result.error.message == problem
    assert result.error.code == "invalid_argument"
    assert transfer_to == req(**kw).transfer_to


@pytest.mark.parametrize(
    "given, stored",
    [
        ("sip:a@b", "<sip:a@b>"),
        ("<sip:a@b>", "<sip:a@b>"),
        ("sips:a@b;transport=tls", "<sips:a@b;transport=tls>"),
        ("tel:+1555", "tel:+1555"),
        ("<tel:+1555;ext=1>", "tel:+1555;ext=1"),
        ("sip:a@b?x=1,y", "<sip:a@b?x=1,y>"),
    ],
)
def test_normalised(given, stored):
    transfer_to, result = validate_transfer_request(req(transfer_to=given))
    assert result.ok and transfer_to == stored


def test_header_warnings_reported():
    _, result = validate_transfer_request(req(headers={"To": "x"}))
    assert result.ok and len(result.soft) == 2  # deprecated name, bare URI without scheme
