"""What the call logic needs from the SIP stack, and clock-driven waiting.

The server implements `Signalling`; call classes never touch sockets or transactions
directly, so they can be driven over real loopback sockets by any transport.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Protocol

from sipconf.bridge.clock import Clock
from sipconf.sip.message import Request, Response
from sipconf.bridge.ports import ParticipantSink
from sipconf.bridge.transport import Source


class TransactionTimeout(Exception):
    """A client transaction ended without a final response (Timer B or F)."""

    def __init__(self, provisionals: int) -> None:
        super().__init__(f"transaction timed out after {provisionals} provisional responses")
        self.provisionals = provisionals


class Signalling(Protocol):
    clock: Clock
    participant_sink: ParticipantSink  # where routed calls join their rooms
    allow_external_dial: bool  # RTP may go to addresses off loopback too

    def via(self, transport: str) -> str:
        """`SIP/2.0/<transport> host:port` of our listener (the branch is added by the dialog)."""

    def contact(self, transport: str) -> str:
        """Our Contact header value for `transport`."""

    async def source_for(self, target: str, origin: Source | None) -> Source:
        """Where in-dialog requests to `target` (a URI) go: the origin's TCP connection while
        open, or the target's host and port over UDP/TCP; AddressError (a ValueError) when
        that address may not be sent to."""

    async def request(self, request: Request, source: Source,
                      on_provisional: Callable[[Response], None] | None = None) -> Response:
        """Send `request` in a client transaction; the final response, or TransactionTimeout."""

    def bind(self, call, dialog_key: tuple[str, str] | None = None,
             participant: tuple[str, str] | None = None) -> None:
        """Register a call under its dialog (Call-ID, local tag) and/or (room, identity)."""

    def unbind(self, call) -> None:
        """Forget a call that ended."""

    def spawn(self, coro) -> "asyncio.Task":
        """Run `coro` as a task the stack owns (awaited, bounded, then cancelled on close)."""


def sleep(clock: Clock, delay: float) -> "asyncio.Future[None]":
    """A future resolved by `clock` after `delay` seconds (a ManualClock in tests)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()

    def fire() -> None:
        if not fut.done():
            fut.set_result(None)

    handle = clock.call_later(delay, fire)
    fut.add_done_callback(lambda f: handle.cancel() if f.cancelled() else None)
    return fut


def duration_seconds(value, default: float, cap: float | None = None) -> float:
    """A protobuf Duration (or None/zero) as seconds, with LiveKit's default and cap."""
    seconds = 0.0
    if value is not None:
        seconds = value.seconds + value.nanos / 1e9
    if seconds <= 0:
        seconds = default
    return min(seconds, cap) if cap is not None else seconds
