"""The rules of a scenario file that tie fields together, read from the YAML as written.

Each check returns issues at the line of the key or value concerned and never raises, so a
file shows every problem at once: a missing `to` beside a misspelt transport, a duplicate
name beside a schema error, every field an outbound call lacks. They read the raw data, not
the models, because pydantic never reaches a cross-field rule of an object with a wrong field.
"""

from __future__ import annotations

import difflib
from typing import Any

from sipconf.issues import Issue
from sipconf.model import DesiredState, Origin
from sipconf.spec.yamlsrc import Path, Positions

# CreateSIPParticipant fields: a scenario sets them only for a call LiveKit places.
OUTBOUND_ONLY = ("trunk", "room", "dtmf")
OUTBOUND_NEEDS = (("trunk", "the spec name of an outbound trunk"), ("to", "sip_call_to"), ("room", None))


def scenario_issues(data: Any, positions: Positions, desired: DesiredState | None) -> list[Issue]:
    """Every cross-field problem of the suite file; spec names are checked when its spec loaded."""
    out: list[Issue] = []
    scenarios = data.get("scenarios") if isinstance(data, dict) else None
    for i, sc in enumerate(scenarios if isinstance(scenarios, list) else []):
        if not isinstance(sc, dict):
            continue
        here: Path = ("scenarios", i)
        call = _mapping(sc.get("call"))
        expect = _mapping(sc.get("expect"))
        out += _call_fields(call, here + ("call",), positions)
        out += _expectations(call, expect, here + ("expect",), positions)
        if desired is not None:
            out += _unknown_names(call, expect, here, positions, desired)
    out += _duplicate_names(scenarios if isinstance(scenarios, list) else [], positions)
    return out


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _label(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _call_fields(call: dict, path: Path, positions: Positions) -> list[Issue]:
    """What each direction needs, and the outbound-only fields an inbound call sets."""
    if not call:
        return []
    out: list[Issue] = []
    where = positions.value(path)
    if call.get("direction") == "outbound":
        missing = [f"'{key}' ({meaning})" if meaning else f"'{key}'" for key, meaning in OUTBOUND_NEEDS if not call.get(key)]
        if missing:  # one line naming every missing field
            needs = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
            out.append(Issue("error", "invalid-value", f"{_label(path)}: an outbound call needs {needs}", where))
        return out
    if call.get("direction", "inbound") != "inbound":
        return out  # a wrong direction is the schema's error
    for key in OUTBOUND_ONLY:
        if call.get(key):
            out.append(Issue("error", "outbound-only", f"{_label(path + (key,))}: '{key}' is a CreateSIPParticipant field:"
                             " only for direction: outbound", positions.key(path + (key,))))
    if not call.get("to"):
        out.append(Issue("error", "invalid-value", f"{_label(path)}: an inbound call needs 'to'", where))
    return out


def _expectations(call: dict, expect: dict, path: Path, positions: Positions) -> list[Issue]:
    """Expectations that exclude each other, or that nothing could ever observe."""
    out: list[Issue] = []
    if expect.get("no_final_response") is True and expect.get("status") is not None:
        out.append(Issue("error", "invalid-value", f"{_label(path)}: 'no_final_response' and 'status' exclude each other",
                         positions.key(path + ("no_final_response",))))
    if "digits" in expect and call.get("direction", "inbound") == "inbound":
        out.append(Issue(
            "error", "unobservable-digits",
            f"{_label(path + ('digits',))}: an inbound call's digits go to LiveKit, and no API shows them, so they can"
            " never be observed; `digits` is for outbound calls (what the far end received). To test a PIN, expect"
            " the room it opens, or joined: false for a wrong one",
            positions.key(path + ("digits",))))
    return out


def _unknown_names(call: dict, expect: dict, path: Path, positions: Positions, desired: DesiredState) -> list[Issue]:
    """Trunk and rule names a scenario uses that its spec does not define, at their value."""
    out: list[Issue] = []
    inbound = tuple(o.name for o in desired.inbound)
    outbound = tuple(o.name for o in desired.outbound)
    rules = tuple(o.name for o in desired.rules)
    trunks = tuple(dict.fromkeys(inbound + outbound))

    def check(value: Any, known: tuple[str, ...], what: str, code: str, at: Path) -> None:
        if not isinstance(value, str) or value in known:
            return
        close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (the spec has: {', '.join(known) or 'none'})"
        out.append(Issue("error", code, f"{_label(at)}: {what} '{value}' is not in the spec{hint}", positions.value(at)))

    if call.get("direction") == "outbound":
        check(call.get("trunk"), outbound, "outbound trunk", "unknown-trunk", path + ("call", "trunk"))
    check(expect.get("trunk"), trunks, "trunk", "unknown-trunk", path + ("expect", "trunk"))
    check(expect.get("rule"), rules, "dispatch rule", "unknown-rule", path + ("expect", "rule"))
    return out


def _duplicate_names(scenarios: list, positions: Positions) -> list[Issue]:
    out: list[Issue] = []
    first: dict[str, Origin] = {}
    for i, sc in enumerate(scenarios):
        name = sc.get("name") if isinstance(sc, dict) else None
        if not isinstance(name, str) or not name:
            continue
        if name in first:
            out.append(Issue("error", "duplicate-scenario", f"duplicate scenario name '{name}' (first defined at {first[name]})",
                             positions.value(("scenarios", i, "name"))))
        else:
            first[name] = positions.value(("scenarios", i))
    return out

