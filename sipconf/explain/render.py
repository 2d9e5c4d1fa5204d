"""Renderers of an `Explanation`: text for people, JSON for tools. Same content, same order."""

from __future__ import annotations

import json

from sipconf.explain.model import Explanation


def render_json(ex: Explanation) -> str:
    return json.dumps(ex.to_json(), indent=2, sort_keys=False)


def _auth_line(ex: Explanation) -> str:
    a = ex.auth
    if not a.required:
        return "auth: not required"
    head = f"auth: required by trunk {a.trunk} (digest, username {a.username}, realm {a.realm})"
    if not a.checked:
        return head + "; no --auth given, assuming the caller answers the challenge"
    return head + ("; the given --auth passes" if a.passes else "; the given --auth fails: 401 Unauthorized")


def _result_line(ex: Explanation) -> str:
    if ex.action == "drop":
        return "result: dropped: 100 Processing and 180 Ringing, then no final response"
    if ex.status is None:
        return f"result: {ex.action}: LiveKit hangs up (BYE)"
    return f"result: {ex.status} {ex.reason} ({ex.action.replace('_', ' ')})"


def _rule_line(ex: Explanation) -> str:
    line = f"rule chosen: {ex.rule} (priority {ex.rule_priority})"
    if ex.rule_reason:
        line += f": {ex.rule_reason}"
    if ex.rule_runner_up is not None:
        line += f" (next: {ex.rule_runner_up}, priority {ex.rule_runner_up_priority})"
    return line


def render_text(ex: Explanation) -> str:
    call = ex.call
    where = "".join(
        f", {k} {call[k]}" for k in ("src_ip", "from_host") if call.get(k)
    )
    out = [f"call: from {call['from']} to {call['to']}{where} (mode {ex.mode})", "trunks considered:"]
    out += [f"  {line}" for line in ex.trunks] or ["  (none)"]
    out.append(_auth_line(ex))
    out.append("rules considered:")
    out += [f"  {line}" for line in ex.rules] or ["  (none)"]
    if ex.rule is not None:
        out.append(_rule_line(ex))
    if ex.action == "request_pin":
        out.append("pin: the rule needs a PIN; LiveKit answers and prompts for it (pass --pin DIGITS)")
    if ex.room is not None:
        out.append(f"room: {ex.room}")
        out.append(f"participant: identity {ex.identity}, name {ex.name}")
        if ex.metadata:
            out.append(f"metadata: {ex.metadata}")
        out.append("attributes:")
        out += [f"  {k} = {v}" for k, v in ex.attributes.items()]
        agents = ", ".join(a.agent_name + (f" (metadata {a.metadata})" if a.metadata else "") for a in ex.agents)
        out.append(f"agents: {agents or 'none'}")
    out += [f"note: {n}" for n in ex.notes]
    if ex.error is not None:
        out.append(f"error: {ex.error_code}: {ex.error}")
    out.append(_result_line(ex))
    return "\n".join(out) + "\n"
