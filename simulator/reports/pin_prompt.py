"""Whether a call meets the PIN prompt, so the report can mask the digits entered there.

Asked of the routing engine with the spec's rules as the checks see them (PINs replaced by
placeholders): the report needs to know that a PIN is asked, never what it is.
"""

from __future__ import annotations

from sipconf.checks.prepared import placeholder_message
from sipconf.routing.call import CallFacts
from sipconf.routing.route import Mode, route
from simulator.scenario.reader import LoadedScenario


def reaches_pin_prompt(loaded: LoadedScenario) -> bool:
    """True when the spec answers this inbound call with the PIN prompt (a direct rule with a
    PIN), once any digest challenge is passed."""
    call = loaded.scenario.call
    if call.direction != "inbound":
        return False
    trunks = [placeholder_message(o) for o in loaded.desired.inbound]
    rules = [placeholder_message(o) for o in loaded.desired.rules]
    facts = CallFacts(from_user=call.from_, to_user=call.to, from_host=call.from_host or call.source,
                      src_ip=call.source, headers=tuple(call.headers.items()))
    decided = route(trunks, rules, facts, Mode(loaded.mode), authenticated=True, with_trace=False)
    return decided.value.action == "request_pin"
