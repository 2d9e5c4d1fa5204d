"""Where a call that never joined went, by the spec, as `sipconf explain` tells it.

LiveKit's API shows where a call went only through its participant. A call that never joins
(a wrong PIN, a rejected call) leaves nothing to read, so its `trunk:` and `rule:`
expectations can only get "nothing". Such a failure then also says what the routing engine
decides for the same call on the suite's spec -- the trunk and rule it reached and how it
ended -- and carries the engine's trace. This is the spec's account, shown beside what was
observed and never in its place: the expectations are still judged on the API's answer.
"""

from __future__ import annotations

import random
from typing import Mapping

from sipconf.errors import UserError
from sipconf.explain import CallRequest, Explanation, explain_call
from sipconf.routing.route import Mode
from simulator.drivers.base import resolve_secret
from simulator.result import CallResult
from simulator.scenario.models import Dtmf
from simulator.scenario.reader import LoadedScenario

# Mismatches that only a participant could have answered.
_UNOBSERVED = ("trunk: ", "rule: ", "room: ", "participant.")


def not_joined(loaded: LoadedScenario, result: CallResult, environ: Mapping[str, str], failures: list[str]) -> list[str]:
    """`failures`, with one more line after them when an inbound call never joined and an
    expectation about its participant got nothing: the trunk and rule the spec routes it to."""
    if loaded.scenario.call.direction != "inbound" or result.joined:
        return failures
    if not any(f.startswith(_UNOBSERVED) and f.endswith("got nothing") for f in failures):
        return failures
    ex = explain(loaded, environ)
    result.trace = [*result.trace, "by the spec (as sipconf explain shows; not observed):", *ex.trace]
    return [*failures, summary(ex)]


def explain(loaded: LoadedScenario, environ: Mapping[str, str]) -> Explanation:
    """The engine's account of the scenario's call, with the PIN its digits enter (the digits
    before the first `#`) and its digest credentials."""
    call = loaded.scenario.call
    digits = "".join(s.dtmf for s in loaded.scenario.steps if isinstance(s, Dtmf))
    pin = digits.split("#", 1)[0] if "#" in digits else None
    auth = None
    if call.auth is not None:
        try:
            auth = (call.auth.username, resolve_secret(call.auth.password, environ))
        except UserError:
            auth = None  # explain then assumes the caller answers the challenge, and says so
    request = CallRequest(
        to_user=call.to, from_user=call.from_, src_ip=call.source, from_host=call.from_host or call.source,
        headers=tuple(call.headers.items()), pin=pin, auth=auth, mode=Mode(loaded.mode), environ=environ,
    )
    return explain_call(loaded.desired, request, rng=random.Random(loaded.scenario.name))


def summary(ex: Explanation) -> str:
    """One line: the trunk and rule the call reached, and how the spec says it ends."""
    reached = ", ".join(f"{what} '{name}'" for what, name in (("trunk", ex.trunk), ("rule", ex.rule)) if name)
    if ex.error is not None:
        ending = f"LiveKit hangs up: {ex.error}"
    elif ex.status is not None:
        ending = f"{ex.status} {ex.reason}"
    else:
        ending = "no final response" if ex.action == "drop" else ex.action.replace("_", " ")
    return (f"no participant was seen through the API, so it names no trunk or rule; "
            f"by the spec (sipconf explain) the call reached {reached or 'no trunk'}, then: {ending}")
