"""What the bridge may write to its log about a packet: bounded in volume, printable in text.

A flood of bad packets must not become a flood of log lines, and a packet must not write
into the operator's terminal: ``Throttle`` lets at most ``burst`` lines of one kind through
per ``interval`` seconds of the injected clock and counts the rest into the next line of
that kind; ``printable`` escapes control and formatting characters (ANSI escapes, CR/LF
that would forge a log line, bidirectional overrides) as ``\\x1b``-style text, and
``LogLine`` does it to every message it formats.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sipconf.bridge.clock import Clock

__all__ = ["DeferredFlush", "LogLine", "Throttle", "labelled", "printable"]

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


class LogLine(logging.Formatter):
    """``<date> <time>,<ms> LEVEL logger: message``, the message escaped by ``printable`` (no
    length limit): a packet's bytes never reach the terminal raw. Written for a line per call:
    the message is formatted once and the date once a second (`logging.Formatter` does both
    for every record, the date through `strftime`)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._second = -1
        self._date = ""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if not message.isprintable():
            message = printable(message, None)
        record.message = message
        second = int(record.created)
        if second != self._second:
            self._second, self._date = second, time.strftime(self.default_time_format, self.converter(second))
        record.asctime = f"{self._date},{int(record.msecs):03d}"
        line = f"{record.asctime} {record.levelname} {record.name}: {message}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


FLUSH_DELAY = 0.05  # seconds an INFO line may wait in the buffer while the event loop runs


class DeferredFlush(logging.StreamHandler):
    """Lines written to a binary stream (stderr's buffer, shared with `sys.stderr`, so the order
    with other writes to stderr is kept), flushed at once for WARNING and above and outside an
    event loop, and otherwise at most `FLUSH_DELAY` later: at hundreds of calls a second the
    INFO line of each call then costs no write system call of its own."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._encoding = getattr(stream, "encoding", None) or "utf-8"
        self._flush_on: asyncio.AbstractEventLoop | None = None  # the loop a flush is due on

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(f"{self.format(record)}\n".encode(self._encoding, "backslashreplace"))
            if record.levelno >= logging.WARNING or not self._defer():
                self.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _defer(self) -> bool:
        """True when a flush is (now) due on the running loop; False without one (a thread)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._flush_on is not loop:
            self._flush_on = loop
            loop.call_later(FLUSH_DELAY, self._flush_now)
        return True

    def _flush_now(self) -> None:
        self.acquire()
        try:
            self._flush_on = None
            self.flush()
        finally:
            self.release()


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
