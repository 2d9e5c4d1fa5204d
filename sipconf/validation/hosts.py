"""Host-format check for trunk addresses and `from_host` (docs/livekit.md#host-format).

LiveKit wants a bare host or host:port here; URI syntax belongs in other fields
(`transport`, `sip_request_uri`), so anything that looks like a SIP URI is refused.
"""

from __future__ import annotations


def validate_host(value: str, label: str) -> str | None:
    """Why `value` is not a hostname/IP (with optional port), or None. `label` names the field."""
    if "transport=" in value:
        return f"{label} should not contain transport parameter"
    if "@" in value or ";" in value or value.startswith(("sip:", "sips:")):
        return f"{label} should be a hostname or IP, not SIP URI"
    return None
