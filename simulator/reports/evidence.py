"""What a failure shows besides expected-versus-got: the SIP ladder of the call (or that no
SIP message was captured), what the call generator itself said (SIPp's exit code and error
lines) and, in process, the routing trace. Used by the terminal summary and JUnit alike, so
a failure never reads as a bare "got nothing"."""

from __future__ import annotations

from simulator.reports.ladder import text_ladder
from simulator.runner import Outcome


def evidence(o: Outcome) -> list[str]:
    """Unindented lines; sections are headed `SIP ladder:`, `routing trace:`."""
    out: list[str] = []
    ladder = text_ladder(o.result.packets)
    if ladder:
        out.append("SIP ladder:")
        out += ladder
    elif o.driver == "inproc" and o.ran:
        out.append("SIP ladder: none (the inproc driver routes without SIP messages)")
    else:
        out.append("SIP ladder: no SIP message was captured")
    out += o.result.notes
    if o.result.trace:
        out.append("routing trace:")
        out += [f"  {line}" for line in o.result.trace]
    return out
