"""SIP header name and value checks LiveKit runs at create/update time
(docs/livekit.md#validate-headers).

Hard errors stop validation; soft errors are warnings LiveKit logs today and promises to
turn into rejections later (deprecated `To`/`Via` names, malformed name-addr values).
Reasons are returned as LiveKit's exact text so callers can show them verbatim.
"""

from __future__ import annotations

from typing import Mapping

from sipconf.sip import gostr
from sipconf.validation.result import Validation, verdict

# RFC 3261 25.1 `token`: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
TOKEN_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.!%*_+`'~")
# RFC 3261 25.1 display-name = *(token LWS) / quoted-string: tokens plus blanks.
DISPLAY_NAME_CHARS = TOKEN_CHARS | frozenset(" \t")
# Header values: printable ASCII, HTAB, and (unlike names) any non-ASCII character.
VALUE_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F)) | frozenset("\t")

# Headers LiveKit sets itself (and their compact forms); a user may not add them.
FORBIDDEN_NAMES = frozenset(
    {
        "accept", "accept-encoding", "accept-language", "allow", "allow-events", "call-id",
        "contact", "content-encoding", "content-length", "content-type", "cseq", "event",
        "expires", "from", "max-forwards", "record-route", "refer-to", "reply-to",
        "k", "l", "m", "o", "r", "t", "u", "v",
    }
)
# RFC 3261 20.10 name-addr headers (plus RFC 3325 P-Asserted-Identity, RFC 3892 Referred-By).
NAME_ADDR_HEADERS = frozenset(
    {"from", "to", "contact", "route", "record-route", "reply-to", "p-asserted-identity", "referred-by"}
)
MAX_NAME_LEN = 255
MAX_VALUE_LEN = 1024


def check_chars(text: str, allowed: frozenset[str], utf8: bool = False) -> str | None:
    """LiveKit's `allowedCharacters.Validate`: the first offending code point, in its words."""
    for ch in text:
        code = ord(ch)
        if code >= 128:
            if utf8:
                continue
            return f"char {code} out of range, consider explicilty adding utf8 characters"  # sic
        if ch not in allowed:
            return f"char {code} not allowed"
    return None


def validate_header_name(name: str, restricted: bool = True) -> str | None:
    """Why `name` is not an acceptable header name, or None (docs/livekit.md#validate-headers,
    names).

    `restricted=False` is the check for header-mapping names (keys of
    `headers_to_attributes`, values of `attributes_to_headers`): those may name headers
    LiveKit sets itself, so the forbidden list does not apply.
    """
    if name == "":
        return "header name cannot be empty"
    if len(name.encode()) > MAX_NAME_LEN:  # Go len() counts bytes
        return "header name too long (max 255 characters)"
    bad = check_chars(name, TOKEN_CHARS)
    if bad:
        return f"header name {name} contains invalid characters: {bad}"
    if restricted and name.lower() in FORBIDDEN_NAMES:
        return f"header name {name} not supported"
    return None


def validate_header_value(name: str, value: str) -> str | None:
    """Why `value` cannot be sent in header `name`, or None (docs/livekit.md#validate-headers,
    values)."""
    if value == "":
        return None
    if len(value.encode()) > MAX_VALUE_LEN:
        return f"header {name}: value too long (max 1024 characters)"
    bad = check_chars(value, VALUE_CHARS, utf8=True)
    if bad:
        return f"header {name}: value: {bad}"
    return None


def deprecated_name_warning(name: str) -> str | None:
    """Soft error for names LiveKit still accepts but will reject
    (docs/livekit.md#validate-headers)."""
    lower = name.lower()
    if lower == "to":
        return (
            f"header {name} is not supported and will be rejected in a future release; "
            "use CreateSIPParticipantRequest.to_user_override instead"
        )
    if lower == "via":
        return f"header {name} is not supported and will be rejected in a future release"
    return None


def name_addr_problem(value: str) -> str | None:
    """Why `value` is not an RFC 3261 20.10 name-addr / addr-spec, or None
    (docs/livekit.md#validate-headers, name-addr values)."""
    start = end = -1
    for i, ch in enumerate(value):
        if ch == "<":
            if start != -1:
                return "multiple opening brackets"
            start = i
        elif ch == ">":
            if end != -1:
                return "multiple closing brackets"
            end = i
    if (start == -1) != (end == -1):
        return "mismatched angle brackets"
    if start > end:
        return "malformed angle brackets"
    if start >= 0:
        problem = _display_name_problem(value[:start].strip())
        if problem:
            return problem
        uri = value[start + 1 : end]
    else:
        # A bare addr-spec may not carry parameters or headers meant for the name-addr.
        if any(c in value for c in ",? "):
            return "bare URI with special characters"
        uri = value
    return _uri_problem(uri)


def _display_name_problem(display: str) -> str | None:
    if display == "":
        return None
    # As in Go, a lone `"` counts as quoted (and then fails to unquote).
    if display.startswith('"') and display.endswith('"'):
        try:
            gostr.unquote(display)
        except ValueError as exc:
            return f"display name: {exc}"
        return None
    bad = check_chars(display, DISPLAY_NAME_CHARS)
    return f"display name: {bad}" if bad else None


def _uri_problem(uri: str) -> str | None:
    # Only the basics; the SIP service parses the URI properly later.
    scheme = uri.split(":", 1)[0]
    if scheme not in ("sip", "sips", "tel"):
        return "uri: scheme not one of sip, sips, or tel"
    if " " in uri:
        return "uri: contains spaces"
    return None


def check_headers(headers: Mapping[str, str], *, restricted: bool = True) -> tuple[str | None, list[str]]:
    """(first hard error, soft errors found before it), entries in map order."""
    soft: list[str] = []
    for name, value in headers.items():
        reason = validate_header_name(name, restricted)
        if reason:
            return f"invalid header name: {reason}", soft
        warning = deprecated_name_warning(name)
        if warning:
            soft.append(warning)
        reason = validate_header_value(name, value)
        if reason:
            return f"invalid header value for {name}: {reason}", soft
        if value and name.lower() in NAME_ADDR_HEADERS:
            problem = name_addr_problem(value)
            if problem:
                soft.append(f"header {name}: value: {problem}")
    return None, soft


def check_header_names(names, *, restricted: bool = False) -> str | None:
    """First bad name among `names` as `invalid header name: <reason>` (header mappings)."""
    for name in names:
        reason = validate_header_name(name, restricted)
        if reason:
            return f"invalid header name: {reason}"
    return None


def validate_headers(headers: Mapping[str, str], *, restricted: bool = True) -> Validation:
    """Validate a header map as LiveKit does for `headers` fields (docs/livekit.md#validate-headers)."""
    return verdict(*check_headers(headers, restricted=restricted))
