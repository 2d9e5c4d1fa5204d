"""What the SIP bridge counts, and the Prometheus text format every count is scraped in.

Plain counters, no client library. The bridge counts at three points only: an inbound INVITE
got its final response (or was dropped without one), a new INVITE was refused before any
call logic (shed, or not a valid INVITE), and an outbound call ended. Everything
else is read from live state when `/metrics` is scraped: calls in progress, INVITEs shed by
admission control (503 + Retry-After: the caller is asked to back off), malformed messages.
`render()` writes families in the text exposition format, version 0.0.4
(https://prometheus.io/docs/instrumenting/exposition_formats/).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping

from sipconf.sip.message import Request

__all__ = ["BridgeMetrics", "Family", "render"]

COUNTER, GAUGE = "counter", "gauge"
INBOUND, OUTBOUND = "inbound", "outbound"
NO_FINAL = "none"  # the status label of a call that ended without a final response


@dataclass(frozen=True)
class Family:
    """One metric: its name, type, help line and samples (labels, value)."""

    name: str
    kind: str
    help: str
    samples: tuple[tuple[Mapping[str, str], float], ...] = ()

    @classmethod
    def single(cls, name: str, kind: str, help: str, value: float) -> "Family":
        return cls(name, kind, help, (({}, value),))

    @classmethod
    def labelled(cls, name: str, kind: str, help: str, label: str, values: Mapping[str, float]) -> "Family":
        return cls(name, kind, help, tuple(({label: key}, values[key]) for key in sorted(values)))


def render(families: Iterable[Family]) -> str:
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            lines.append(f"{family.name}{_labels(labels)} {_number(value)}")
    return "\n".join(lines) + "\n"


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{key}="{_escape_label(str(value))}"' for key, value in labels.items()) + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int) or (math.isfinite(value) and value == int(value)):
        return str(int(value))
    return repr(float(value)) if math.isfinite(value) else ("+Inf" if value > 0 else "-Inf" if value < 0 else "NaN")


def _status_label(status: str) -> str:
    """`486 Busy Here` -> `486`; an outcome without a SIP status (not sent, timed out) -> none."""
    code = status.split(" ", 1)[0]
    return code if code.isdigit() and len(code) == 3 else NO_FINAL


class BridgeMetrics:
    """The bridge's own counters (one instance per bridge)."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()  # (direction, final status) -> calls
        self.auth_challenges = 0  # inbound INVITEs answered with a digest challenge
        self.auth_failures: Counter[str] = Counter()  # direction -> calls refused for their credentials

    def inbound_settled(self, invite: Request, final: tuple[int, str] | None) -> None:
        """An inbound INVITE got its final response (`final` None: dropped without one)."""
        status = final[0] if final is not None else None
        self.calls[(INBOUND, str(status) if status is not None else NO_FINAL)] += 1
        if status in (401, 407):
            # RFC 3261 22.2: a request that carried credentials and is challenged again was
            # refused for them; one without is the first step of digest authentication.
            if invite.get("authorization") or invite.get("proxy-authorization"):
                self.auth_failures[INBOUND] += 1
            else:
                self.auth_challenges += 1

    def inbound_refused(self, status: int | None, count: int = 1) -> None:
        """A new INVITE (or `count`) answered before any call logic ran (shed by admission
        control, or not a valid INVITE); None: dropped without an answer."""
        self.calls[(INBOUND, str(status) if status is not None else NO_FINAL)] += count

    def outbound_ended(self, status: str) -> None:
        """An outbound call ended; `status` is its INVITE's outcome (`200 OK`, `486 Busy Here`,
        `not sent`, ...). Still challenged at the end means the trunk's credentials failed."""
        label = _status_label(status)
        self.calls[(OUTBOUND, label)] += 1
        if label in ("401", "407"):
            self.auth_failures[OUTBOUND] += 1

    def snapshot(self, bridge) -> dict:
        """What `bridge` counts and holds right now, in plain values (a call worker sends it to
        the main process, whose `/metrics` adds up every process's)."""
        live = {id(call) for table in (bridge.pending, bridge.dialogs, bridge.participants) for call in table.values()}
        backoff = bridge.config.backoff
        return {
            "calls": dict(self.calls), "in_progress": len(live), "transactions": len(bridge.tm),
            "shed": dict(bridge.admission.refused), "challenges": self.auth_challenges,
            "failures": {INBOUND: self.auth_failures[INBOUND], OUTBOUND: self.auth_failures[OUTBOUND]},
            "backoffs": {"started": backoff.counters.backoffs, "refused": backoff.counters.refused},
            "backoffs_active": backoff.active,
            "malformed": {"answered_400": bridge.sip.rejected, "dropped": bridge.sip.dropped},
        }

    def families(self, bridge, others: Iterable[dict] = ()) -> list[Family]:
        """Counters plus what `bridge` (a `sipconf.bridge.server.Bridge`) holds right now, and
        the snapshots of the call workers beside it, added up. Every process keeps the same
        back-off table, so the back-offs active are this process's count."""
        total = self.snapshot(bridge)
        others = list(others)
        for other in others:
            for key in ("in_progress", "transactions", "challenges"):
                total[key] += other[key]
            for key in ("calls", "shed", "failures", "backoffs", "malformed"):
                merged = Counter(total[key])
                merged.update(other[key])
                total[key] = dict(merged)
        workers = [
            Family.single("sipconf_call_worker_asyncio_tasks", GAUGE,
                          "asyncio tasks not done yet in the call workers (`sipconf up --workers`), added up.",
                          sum(other.get("tasks", 0) for other in others)),
        ] if others else []
        return workers + [
            Family("sipconf_sip_calls_total", COUNTER,
                   "Calls by direction and final SIP status of their INVITE (none: ended without one).",
                   tuple(({"direction": d, "status": s}, n) for (d, s), n in sorted(total["calls"].items()))),
            Family.single("sipconf_sip_calls_in_progress", GAUGE,
                          "Calls not ended yet: inbound INVITEs being answered, dialogs, outbound calls.",
                          total["in_progress"]),
            Family.single("sipconf_sip_transactions", GAUGE,
                          "SIP transactions not terminated yet, server and client (RFC 3261 17: each lingers"
                          " up to 64*T1 after its final response).", total["transactions"]),
            Family.labelled("sipconf_sip_calls_shed_total", COUNTER,
                            "New INVITEs answered 503 + Retry-After by admission control (the caller is asked"
                            " to back off), by reason.", "reason", total["shed"]),
            Family.single("sipconf_sip_auth_challenges_total", COUNTER,
                          "Inbound INVITEs without credentials answered with a digest challenge.",
                          total["challenges"]),
            Family.labelled("sipconf_sip_auth_failures_total", COUNTER,
                            "Calls refused for their credentials: inbound INVITEs challenged again,"
                            " outbound calls the far end kept challenging.", "direction", total["failures"]),
            Family.labelled("sipconf_sip_auth_backoffs_total", COUNTER,
                            "Digest guessing back-offs (per source and username): started, and credentialed"
                            " INVITEs answered 503 + Retry-After during one.", "event", total["backoffs"]),
            Family.single("sipconf_sip_auth_backoffs_active", GAUGE,
                          "Sources (or usernames behind a trusted proxy) backed off right now.",
                          total["backoffs_active"]),
            Family.labelled("sipconf_sip_malformed_messages_total", COUNTER,
                            "SIP messages that did not parse: answered 400 or dropped.", "action", total["malformed"]),
        ]
