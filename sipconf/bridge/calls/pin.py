"""PIN entry over DTMF (docs/livekit.md#pin-flow).

"`#` ends entry; empty entry -> no_pin=true, else pin=<digits> (`*` and letters count as
digits). More than 16 digits -> wrong PIN." There is no PIN timer. A pure state holder:
the inbound call feeds it digits (RFC 4733 events, or SIP INFO with `--dtmf-info`).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PIN_DIGITS = 16


@dataclass(frozen=True)
class PinEntry:
    """The finished entry: `pin` digits, `no_pin` (only `#`), or `too_long`."""

    pin: str = ""
    no_pin: bool = False
    too_long: bool = False


class PinCollector:
    def __init__(self, max_digits: int = MAX_PIN_DIGITS) -> None:
        self.max_digits = max_digits
        self.digits: list[str] = []
        self.done: PinEntry | None = None

    def feed(self, digit: str) -> PinEntry | None:
        """Add one digit; returns the entry once it is finished (then ignores the rest)."""
        if self.done is not None:
            return None
        if digit == "#":
            pin = "".join(self.digits)
            self.done = PinEntry(pin=pin, no_pin=not pin)
        else:
            self.digits.append(digit)
            if len(self.digits) > self.max_digits:
                self.done = PinEntry(pin="".join(self.digits), too_long=True)
        return self.done


def info_digit(content_type: str | None, body: bytes) -> str | None:
    """The digit of a SIP INFO DTMF body (`application/dtmf-relay` `Signal=5`, or
    `application/dtmf` `5`); None if there is none. Only used with `--dtmf-info`."""
    text = body.decode("utf-8", errors="replace").strip()
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/dtmf":
        value = text
    else:
        value = ""
        for line in text.splitlines():
            name, _, v = line.partition("=")
            if name.strip().lower() == "signal":
                value = v.strip()
    value = value.lower()
    if len(value) == 1 and value in "0123456789*#abcd":
        return value
    return {"10": "*", "11": "#"}.get(value)
