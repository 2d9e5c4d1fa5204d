"""PIN collisions: two PIN rules with the same PIN that can take the same call.

LiveKit refuses two rules with the same (trunk, caller, called, PIN) key, but keys that
differ can still overlap, e.g. a rule for one number and a rule for any number on the same
trunk. A caller entering that PIN then always lands in the one LiveKit prefers, and the PIN
cannot tell the two rooms apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from google.protobuf.message import Message

from sipconf.checks.base import CheckBase
from sipconf.checks.livekit import accepted_rules
from sipconf.checks.prepared import Prepared
from sipconf.checks.reach import call_space
from sipconf.issues import Issue
from sipconf.model import DesiredObject, DesiredState
from sipconf.routing.rules import pin_and_room, select_dispatch_rule


def _colliding_candidates(with_pin: list[tuple[DesiredObject, Message]]) -> list[tuple[int, int]]:
    """The pairs (i < j) of PIN rules that may take the same call: the same PIN, and trunks in
    common (or no `trunk_ids` on one of them, which lets it take calls from any trunk). Grouped
    by PIN and trunk, so rules that cannot meet are never compared."""
    groups: dict[tuple[str, str | None], list[int]] = {}
    for index, (_obj, rule) in enumerate(with_pin):
        pin = pin_and_room(rule)[0]
        for trunk_id in dict.fromkeys(rule.trunk_ids) if rule.trunk_ids else (None,):
            groups.setdefault((pin, trunk_id), []).append(index)
    pairs: set[tuple[int, int]] = set()
    for (pin, trunk_id), members in groups.items():
        # A rule without trunk_ids meets every rule with its PIN.
        others = members if trunk_id is None else members + groups.get((pin, None), [])
        for a in members:
            pairs.update((min(a, b), max(a, b)) for b in others if b != a)
    return sorted(pairs)


@dataclass(frozen=True)
class PinCollision(CheckBase):
    code: str = "pin-collision"
    level: str = "warning"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        prepared = Prepared.of(state)
        space = call_space(prepared)
        with_pin = [(o, r) for o, r in accepted_rules(prepared) if pin_and_room(r)[0]]
        for i, j in _colliding_candidates(with_pin):
            (obj_a, a), (obj_b, b) = with_pin[i], with_pin[j]
            pin = pin_and_room(a)[0]
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
