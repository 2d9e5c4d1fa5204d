"""Media configuration: the legacy `media_encryption` upgrade and LiveKit's merge
(docs/livekit.md#media-merge)."""

from __future__ import annotations

from livekit.protocol import sip

DISABLE = sip.SIP_MEDIA_ENCRYPT_DISABLE


def upgrade(obj) -> sip.SIPMediaConfig:
    """The object's media with the legacy `media_encryption` folded in; always present.

    `obj` is any message with `media` and `media_encryption` (trunks, rules, requests).
    """
    media = sip.SIPMediaConfig()
    if obj.HasField("media"):
        media.CopyFrom(obj.media)
    if not media.HasField("encryption") and obj.media_encryption != DISABLE:
        media.encryption = obj.media_encryption
    return media


def merge(base: sip.SIPMediaConfig | None, over: sip.SIPMediaConfig | None) -> sip.SIPMediaConfig | None:
    """`over` on top of `base`; an absent side yields the other.

    A later explicit DISABLE never downgrades an encryption the base set.
    """
    if base is None:
        return None if over is None else _copy(over)
    if over is None:
        return _copy(base)
    out = _copy(over)
    if over.HasField("encryption") and not (over.encryption == DISABLE and base.HasField("encryption")):
        out.encryption = over.encryption
    elif base.HasField("encryption"):
        out.encryption = base.encryption
    else:
        out.ClearField("encryption")
    if not over.HasField("media_timeout") and base.HasField("media_timeout"):
        out.media_timeout.CopyFrom(base.media_timeout)
    if not over.codecs:
        del out.codecs[:]
        out.codecs.extend(base.codecs)
        out.only_listed_codecs = base.only_listed_codecs
    return out


def encryption_of(media: sip.SIPMediaConfig | None) -> int:
    return media.encryption if media is not None and media.HasField("encryption") else DISABLE


def _copy(media: sip.SIPMediaConfig) -> sip.SIPMediaConfig:
    out = sip.SIPMediaConfig()
    out.CopyFrom(media)
    return out
