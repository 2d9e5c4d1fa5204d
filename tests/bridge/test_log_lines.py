"""The bridge's log lines: escaped like the packets they quote, formatted as logging's default
would, and flushed at once for warnings, within FLUSH_DELAY for INFO on a running loop."""

from __future__ import annotations

import asyncio
import io
import logging
import sys

from sipconf.bridge.log_lines import FLUSH_DELAY, DeferredFlush, LogLine


def _record(msg: str, args: tuple, level: int = logging.INFO, created: float | None = None) -> logging.LogRecord:
    record = logging.LogRecord("sipconf.bridge", level, __file__, 1, msg, args, None)
    if created is not None:
        record.created, record.msecs = created, (created - int(created)) * 1000
    return record


def test_a_line_is_what_the_standard_formatter_writes():
    standard = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    line = LogLine()
    for created in (1_700_000_000.25, 1_700_000_000.999, 1_700_000_001.0, 1_700_003_600.5):
        record = _record("call %s from %s", ("c1", "+15550100"), created=created)
        assert line.format(record) == standard.format(_record("call %s from %s", ("c1", "+15550100"), created=created))


def test_a_message_is_escaped_and_its_arguments_left_alone():
    record = _record("call %s from %s", ("c\x1b[2J", "x\r\nFAKE"))
    assert LogLine().format(record).endswith("INFO sipconf.bridge: call c\\x1b[2J from x\\r\\nFAKE")
    assert record.args == ("c\x1b[2J", "x\r\nFAKE")  # other handlers see the record as logged


def test_a_traceback_follows_its_line():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("sipconf.bridge", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = LogLine().format(record)
    assert text.splitlines()[0].endswith("ERROR sipconf.bridge: failed")
    assert "RuntimeError: boom" in text


class _Sink(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushed = b""

    def flush(self) -> None:
        self.flushed = self.getvalue()


def _handler() -> tuple[DeferredFlush, _Sink]:
    sink = _Sink()
    handler = DeferredFlush(sink)
    handler.setFormatter(LogLine())
    return handler, sink


def test_outside_a_loop_every_line_is_flushed_at_once():
    handler, sink = _handler()
    handler.handle(_record("call %s", ("one",)))
    assert sink.flushed.endswith(b"call one\n")


def test_on_a_loop_info_waits_and_a_warning_does_not():
    handler, sink = _handler()

    async def run() -> None:
        handler.handle(_record("call %s", ("one",)))
        handler.handle(_record("call %s", ("two",)))
        assert sink.flushed == b""  # in the buffer, in order
        first, second = sink.getvalue().splitlines()
        assert first.endswith(b"call one") and second.endswith(b"call two")
        await asyncio.sleep(FLUSH_DELAY * 2)
        assert sink.flushed.endswith(b"call two\n")
        handler.handle(_record("call %s", ("three",)))
        handler.handle(_record("overloaded", (), level=logging.WARNING))
        assert sink.flushed.endswith(b"WARNING sipconf.bridge: overloaded\n")

    asyncio.run(run())
    assert sink.getvalue().count(b"\n") == 4


def test_a_line_not_encodable_is_written_escaped():
    sink = _Sink()
    sink.encoding = "ascii"
    handler = DeferredFlush(sink)
    handler.setFormatter(LogLine())
    handler.handle(_record("caller %s", ("Zoë",)))
    assert sink.flushed.endswith(b"caller Zo\\xeb\n")
