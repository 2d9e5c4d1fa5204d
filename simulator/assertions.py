"""`expect` versus the observed `CallResult`: one mismatch line per differing field.

Each line reads `<field>: expected <x>, got <y>`, the same shape as the conformance
runner's mismatches, so a failure says exactly what differed; a regex that did not match adds
"(regex must match the whole value)", since `{regex: ...}` is anchored at both ends.
"""

from __future__ import annotations

import re
from typing import Any

from simulator.result import CallResult
from simulator.scenario.models import Expect, Pattern


def check(expect: Expect, got: CallResult) -> list[str]:
    out: list[str] = list(got.errors)
    if expect.no_final_response and got.final:
        out.append(f"final response: expected none, got {got.status} {got.reason}")
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


def _eq(out: list[str], name: str, want: Any, have: Any) -> None:
    if want != have:
        out.append(f"{name}: expected {_show(want)}, got {_show(have)}")


FULL_MATCH = "regex must match the whole value"


def _match(out: list[str], name: str, want: str | Pattern, have: str | None) -> None:
    """Exact text, or `{regex: ...}` matched against the whole value (re.fullmatch): a regex
    that only finds itself inside the value fails, and the failure says so."""
    if isinstance(want, Pattern):
        if have is None:
            out.append(f"{name}: expected {_show(want)}, got nothing")
        elif re.fullmatch(want.regex, have) is None:
            out.append(f"{name}: expected {_show(want)}, got {_show(have)} ({FULL_MATCH})")
    else:
        _eq(out, name, want, have)
