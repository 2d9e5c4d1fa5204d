"""What the bridge may write to its log about a packet: bounded in volume, printable in text.

A flood of bad packets must not become a flood of log lines, and a packet must not write
into the operator's terminal: ``Throttle`` lets at most ``burst`` lines of one kind through
per ``interval`` seconds of the injected clock and counts the rest into the next line of
that kind; ``printable`` escapes control and formatting characters (ANSI escapes, CR/LF
that would forge a log line, bidirectional overrides) as ``\\x1b``-style text, and
``EscapeControlCharacters`` does it to whole log records on a handler.
"""

from __future__ import annotations

import logging

from sipconf.bridge.clock import Clock

__all__ = ["EscapeControlCharacters", "Throttle", "labelled", "printable"]

TEXT_LIMIT = 200  # characters of a peer's text quoted in one log line


def printable(text: str | bytes, limit: int | None = TEXT_LIMIT) -> str:
    """``text`` with every non-printable character escaped, cut at ``limit`` characters."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "backslashreplace")
    cut = limit is not None and len(text) > limit
    if cut:
        text = text[:limit]
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return text + "..." if cut else text


def labelled(object_id: str, name: str) -> str:
    """A trunk or rule in a call's log line: its id and, when it has one, the name it carries in
    LiveKit (the spec's name for objects sipconf applied), e.g. ``ST_x3k (twilio)``; ``-`` for none.
    The id finds it through the API; the name is what the person reading the log wrote."""
    if not object_id:
        return "-"
    return f"{object_id} ({printable(name)})" if name else object_id


class EscapeControlCharacters(logging.Filter):
    """A handler filter: the record's message, escaped by ``printable`` (no length limit)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.isprintable():
            record.msg, record.args = printable(message, None), None
        return True


class Throttle:
    """Rate-limited WARNING lines, one budget per kind (a small fixed set of strings)."""

    def __init__(self, logger: logging.Logger, clock: Clock, burst: int = 5, interval: float = 1.0) -> None:
        self.logger = logger
        self.clock = clock
        self.burst = burst
        self.interval = interval
        self._windows: dict[str, list] = {}  # kind -> [window start, lines written, lines held back]

    def warning(self, kind: str, message: str, *args: object, exc_info: bool = False) -> bool:
        """Log unless ``kind`` used its budget; True when the line was written."""
        now = self.clock.now()
        window = self._windows.get(kind)
        if window is None or now - window[0] >= self.interval:
            held = window[2] if window is not None else 0
            window = self._windows[kind] = [now, 0, held]
        if window[1] >= self.burst:
            window[2] += 1
            return False
        window[1] += 1
        if window[2]:
            message += f" ({window[2]} more like it not logged)"
            window[2] = 0
        self.logger.warning(message, *args, exc_info=exc_info)
        return True

    def held_back(self, kind: str) -> int:
        """Lines of ``kind`` not logged since the last one that was."""
        window = self._windows.get(kind)
        return window[2] if window is not None else 0
