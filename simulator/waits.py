"""The waits a scenario's expectations need, added before its call is placed.

LiveKit's API shows where a call went only through its participant, and only while the call
is up. A scenario that expects a trunk, rule, room, identity or attributes therefore needs the
participant read before the call ends. Without a `wait: joined` of its own, a caller that
hangs up as soon as it is answered (SIPp runs its steps without waiting for anyone) would end
the call before the API was read, while the scapy driver happened to read first: the same
file passed with one driver and failed with the other. The runner adds the wait instead, so
every driver plays the same steps.
"""

from __future__ import annotations

from dataclasses import replace

from simulator.scenario.models import Hangup, RemoveParticipant, Scenario, Wait
from simulator.scenario.reader import LoadedScenario


def with_expected_waits(loaded: LoadedScenario) -> LoadedScenario:
    """`loaded` with a `wait: joined` before its call ends when its expectations need the
    participant and nothing waits for it yet; unchanged otherwise."""
    steps = expected_steps(loaded.scenario)
    if steps is None:
        return loaded
    return replace(loaded, scenario=loaded.scenario.model_copy(update={"steps": steps}))


def expected_steps(scenario: Scenario) -> list | None:
    """The steps with the added wait, or None when none is needed: an outbound call (its
    participant is read as it is created), a call expected not to join, a call that waits
    for the participant already, or one LiveKit ends (`hangup: livekit`, `remove_participant`:
    the drivers read the participant to remove it)."""
    expect = scenario.expect
    if scenario.call.direction != "inbound" or not expect.needs_participant or expect.joined is False:
        return None
    steps = list(scenario.steps)
    if any(_ended_by_livekit(s) for s in steps):
        return None
    end = next((i for i, s in enumerate(steps) if _ends_call(s)), len(steps))
    if any(isinstance(s, Wait) and s.wait == "joined" for s in steps[:end]):
        return None
    steps.insert(end, Wait(wait="joined"))
    return steps


def _ended_by_livekit(step) -> bool:
    return isinstance(step, RemoveParticipant) or (isinstance(step, Hangup) and step.hangup == "livekit")


def _ends_call(step) -> bool:
    return isinstance(step, Hangup) or (isinstance(step, Wait) and step.wait == "ended")
