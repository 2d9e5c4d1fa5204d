"""One load call through the scripted agent: INVITE (answering one digest challenge), ACK,
and at once BYE when answered. Plain asyncio: it runs on the worker's loop thread.

Each call gets an agent of its own, bound to the source address with ports the kernel picks,
so no two calls in flight share a port and nothing is left behind between calls (the agent
keeps every message and RTP packet it receives; the bridge sends silence while a call is up).
The setup time is measured here, on the loop that sends and receives, from the first INVITE
to the final response: the hand-off between gevent and asyncio is not part of it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from sipconf.agent import Agent
from simulator.locust.plan import LoadCall

__all__ = ["CallOutcome", "place"]

BYE_TIMEOUT = 4.0


@dataclass(frozen=True)
class CallOutcome:
    name: str
    setup_ms: float  # INVITE to the final response (to giving up, when none came)
    ok: bool  # the expected final status came, and an answered call's BYE got its 200
    status: int | None  # the final status (None: none came)
    reason: str | None = None  # why it failed, the same text for the same cause (Locust groups by it)


async def place(call: LoadCall, target: tuple[str, int], source: str | None = None,
                timeout: float = 8.0, allow_external: bool = False) -> CallOutcome:
    """Place `call` at `target` from `source` (None: the scenario's own address); the agent
    sends off loopback only with `allow_external` (--sip-allow-external)."""
    host = source or call.source
    remote = target if call.transport == "tcp" else None
    try:
        async with Agent(host, transport=call.transport, remote=remote, allow_external=allow_external) as agent:
            started = time.perf_counter()
            placed = await agent.call(target, call.from_user, call.to_user, credentials=call.credentials,
                                      headers=list(call.headers), from_host=call.from_host or host, timeout=timeout)
            setup_ms = (time.perf_counter() - started) * 1000
            final = placed.final
            status = final.status if final is not None else None
            reason = None
            if final is None:
                reason = f"no final response within {timeout:g}s"
            elif status != call.expect:
                reason = f"got {status} {final.reason}, expected {call.expect}"
            if placed.answered:
                bye = await placed.bye(timeout=BYE_TIMEOUT)
                if reason is None and (bye is None or bye.status != 200):
                    reason = (f"BYE got {bye.status} {bye.reason}" if bye is not None
                              else f"no answer to the BYE within {BYE_TIMEOUT:g}s")
            return CallOutcome(call.name, setup_ms, reason is None, status, reason)
    except OSError as err:  # the source address cannot be bound, the TCP connection was refused
        # The errno's text, never asyncio's (it names the port, and Locust groups failures by text).
        why = os.strerror(err.errno) if err.errno else str(err)
        return CallOutcome(call.name, 0.0, False, None, f"cannot place the call from {host}: {why}")
