"""Text from the wire made safe for an HTML or SVG page: escaped, and control bytes shown
as `\\xNN` (a page must show what was sent, and a raw control byte is not text)."""

from __future__ import annotations

import html
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]")


def visible(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def esc(text: object) -> str:
    """Escaped for element text and quoted attribute values alike."""
    return html.escape(visible(str(text)), quote=True)
