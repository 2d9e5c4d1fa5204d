"""PIN collisions: two PIN rules with the same PIN that can take the same call.

LiveKit refuses two rules with the same (trunk, caller, called, PIN) key
(docs/livekit.md#rule-conflicts), but keys that differ can still overlap, e.g. a rule for one number
and a rule for any number on the same trunk. A caller entering that PIN then always lands in the one
LiveKit prefers, and the PIN cannot tell the two rooms apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Iterable

from sipconf.checks.base import CheckBase
from sipconf.checks.callspace import CallSpace
from sipconf.checks.livekit import accepted_rules
from sipconf.checks.prepared import Prepared
from sipconf.issues import Issue
from sipconf.model import DesiredState
from sipconf.routing.rules import pin_and_room, select_dispatch_rule


@dataclass(frozen=True)
class PinCollision(CheckBase):
    code: str = "pin-collision"
    level: str = "warning"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        prepared = Prepared(state)
        accepted = accepted_rules(prepared)
        space = CallSpace.of(prepared, accepted)
        with_pin = [(o, r) for o, r in accepted if pin_and_room(r)[0]]
        for (obj_a, a), (obj_b, b) in combinations(with_pin, 2):
            pin = pin_and_room(a)[0]
            if pin != pin_and_room(b)[0]:
                continue
            for witness in space.witnesses(a):
                call = witness.call.with_pin(pin=pin)
                if select_dispatch_rule([b], witness.trunk, call).value is b:
                    # Never print the PIN: it is a secret.
                    yield self.issue(
                        obj_b,
                        f'dispatch rules "{obj_a.name}" and "{obj_b.name}" use the same PIN and both accept'
                        f" calls to {call.to_user} from {call.from_user}: the PIN cannot tell their rooms apart;"
                        " give each rule its own PIN",
                        "direct.pin", "individual.pin", "callee.pin",
                    )
                    break
