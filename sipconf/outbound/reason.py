"""The `Reason` header of a BYE/CANCEL (RFC 3326), parsed as LiveKit's SIP service does.

docs/livekit.md#reason-header: LiveKit records a non-normal Reason on the call as the error
`<type>-<cause>: <text>`; a normal one (Q.850 16 "normal call clearing", SIP 200, ...)
ends the call quietly. Go semantics matter here: `text` is `strconv.Unquote`d, `cause` is
`strconv.Atoi`, and X.int causes are base-0 integers (`0x`, `0o`/leading `0`, `0b`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sipconf.sip.gostr import parse_decimal, parse_int, unquote

# (type, cause) pairs that mean an ordinary hang-up.
_NORMAL = frozenset({("q.850", 16), ("x.int", 0), ("release_cause", 1), ("sip", 0), ("sip", 200)})


@dataclass(frozen=True)
class Reason:
    type: str = ""
    cause: int = 0
    text: str = ""

    @property
    def is_normal(self) -> bool:
        """True for an absent reason or one of the normal-clearing causes."""
        if not self.type and self.cause == 0 and not self.text:
            return True
        return (self.type, self.cause) in _NORMAL

    def __str__(self) -> str:
        """The call error LiveKit records for a non-normal reason."""
        return f"{self.type}-{self.cause}: {self.text}"


def _go_unquote_or_empty(value: str) -> str:
    try:
        return unquote(value)
    except ValueError:
        return ""


def _base0_or_none(value: str) -> int | None:
    try:
        return parse_int(value)
    except ValueError:
        return None


def parse_reason(header: str) -> Reason:
    """Parse one Reason header value; raises ValueError(`no fields in the reason`)."""
    parts = header.split(";")
    if len(parts) < 2:
        raise ValueError("no fields in the reason")
    rtype = parts[0].strip().lower()
    cause = 0
    text = ""
    reasoncode: str | None = None
    for part in parts[1:]:
        if "=" not in part:
            continue
        key, _, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if key == "cause":
            try:
                cause = parse_decimal(value)
            except ValueError:
                cause = 0
        elif key == "text":
            text = _go_unquote_or_empty(value)
        elif key == "description":
            if not text:
                text = _go_unquote_or_empty(value)
        elif key == "reasoncode":
            reasoncode = value
    if rtype == "x.int" and cause == 0:
        # X.int carries its cause as a (often hex) reasoncode, or as the text itself.
        if reasoncode is not None:
            cause = _base0_or_none(reasoncode) or 0
        else:
            parsed = _base0_or_none(text)
            if parsed is not None:
                cause, text = parsed, ""
    return Reason(rtype, cause, text)
