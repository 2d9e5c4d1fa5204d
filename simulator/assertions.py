"""`expect` versus the observed `CallResult`: one mismatch line per differing field.

Each line reads `<field>: expected <x>, got <y>`, the same shape as the conformance
runner's mismatches, so a failure says exactly what differed; a regex that did not match adds
"(regex must match the whole value)", since `{regex: ...}` is anchored at both ends.
`expectations` keeps every field compared, matched or not: the report's expected | got table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from simulator.result import CallResult
from simulator.scenario.models import Expect, Pattern


@dataclass(frozen=True)
class Expectation:
    """One field of `expect` and what the call gave, as shown (`'all-hands'`, `/sales-.*/`)."""

    field: str
    expected: str
    got: str
    ok: bool
    note: str = ""  # why a value that looks right is not (a regex that matched only part of it)

    @property
    def line(self) -> str:
        return f"{self.field}: expected {self.expected}, got {self.got}" + (f" ({self.note})" if self.note else "")


def check(expect: Expect, got: CallResult) -> list[str]:
    """The driver's errors, then one line per expectation the call did not meet."""
    return list(got.errors) + [e.line for e in expectations(expect, got) if not e.ok]


def expectations(expect: Expect, got: CallResult) -> list[Expectation]:
    """Every field `expect` sets, in a fixed order, each with what the call gave."""
    out: list[Expectation] = []
    if expect.no_final_response:
        shown = f"{got.status} {got.reason}" if got.final else "none"
        out.append(Expectation("final response", "none", shown, not got.final))
    if expect.status is not None:
        _eq(out, "status", expect.status, got.status if got.final else None)
    if expect.reason is not None:
        _eq(out, "reason", expect.reason, got.reason)
    if expect.trunk is not None:
        _eq(out, "trunk", expect.trunk, got.trunk)
    if expect.rule is not None:
        _eq(out, "rule", expect.rule, got.rule)
    if expect.joined is not None:
        _eq(out, "joined", expect.joined, got.joined)
    if expect.room is not None:
        _match(out, "room", expect.room, got.room)
    if expect.participant is not None:
        p = expect.participant
        if p.identity is not None:
            _match(out, "participant.identity", p.identity, got.identity)
        if p.name is not None:
            _match(out, "participant.name", p.name, got.name)
        for key, want in p.attributes.items():
            _match(out, f"participant.attributes[{key}]", want, got.attributes.get(key))
    if expect.digits is not None:
        _eq(out, "digits", expect.digits, got.digits)
    if expect.transfer is not None:
        t = expect.transfer
        if t.to is not None:
            _eq(out, "transfer.to", t.to, got.refer_to)
        for name, want, have in (("refer_status", t.refer_status, got.refer_status), ("notify", t.notify, got.notify),
                                 ("error", t.error, got.transfer_error)):
            if want is not None:
                _eq(out, f"transfer.{name}", want, have)
    if expect.sip_error is not None:
        _eq(out, "sip_error", expect.sip_error, got.sip_error)
    if expect.invite is not None:
        inv = got.invite or {}
        i = expect.invite
        for name, want in (("request_uri", i.request_uri), ("from", i.from_), ("to", i.to)):
            if want is not None:
                _match(out, f"invite.{name}", want, inv.get(name))
        headers = {k.lower(): v for k, v in (inv.get("headers") or {}).items()}
        for key, want in i.headers.items():
            _match(out, f"invite.headers[{key}]", want, headers.get(key.lower()))
    return out


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Pattern):
        return f"/{value.regex}/"
    return repr(value) if isinstance(value, str) else str(value)


def _eq(out: list[Expectation], name: str, want: Any, have: Any) -> None:
    out.append(Expectation(name, _show(want), _show(have), want == have))


FULL_MATCH = "regex must match the whole value"


def _match(out: list[Expectation], name: str, want: str | Pattern, have: str | None) -> None:
    """Exact text, or `{regex: ...}` matched against the whole value (re.fullmatch): a regex
    that only finds itself inside the value fails, and the failure says so."""
    if isinstance(want, Pattern):
        ok = have is not None and re.fullmatch(want.regex, have) is not None
        note = FULL_MATCH if have is not None and not ok else ""
        out.append(Expectation(name, _show(want), _show(have), ok, note))
    else:
        _eq(out, name, want, have)
