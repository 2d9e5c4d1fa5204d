"""Inbound routing by index, built once per state version; the same answers as `route`.

`route.py` (with `trunks`, `rules`, `evaluate`) is the literal port of LiveKit's matching
and stays the reference: it scans every trunk and rule for each call. A `RoutingIndex` is
built once from the inbound trunks and dispatch rules of one state and answers each call
with a few lookups:

- called number -> one shared record (`index_called`): the trunks listing it (normalised)
  and, for its exact spelling, each trunk's candidate rules best first; the default trunks
  (no numbers) apart; in a group of many trunks, allowed callers and source addresses (host,
  IP, CIDR prefixes of both families) are indexed (`index_trunks`, `index_addresses`);
- per trunk, one object with all routing reads about it: allowlists, id, auth, its
  candidates' validation (computed once per trunk id, `index_rules`) and its evaluation
  settings, shared between trunks with equal ones (`index_evaluate`).

`authenticate`, `dispatch` and `route` take the arguments of the reference functions minus
the trunk and rule lists, and return the same `Decision`s. No trace is built unless asked
for (`with_trace=True`); then the reference's own steps decide and explain, over what the
index finds: every trunk is explained (the trace has a line per trunk), but only those
listing the called number are searched for it, and only the matched trunk's candidate rules
are read. The checks ask for the two steps alone: `match_trunk` (`trunks.match_trunk`) and
`select_rule` (`rules.select_dispatch_rule` over a trunk's candidates). Pure: no I/O; after `build` only the merged media config of a (trunk, rule)
settings pair is remembered the first time a call reaches it.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Sequence

from livekit.protocol import sip

from sipconf.routing import route as reference
from sipconf.routing.call import CallFacts
from sipconf.routing.errors import FAILED_PRECONDITION, INVALID_ARGUMENT, LiveKitError
from sipconf.routing.index_addresses import Source, parse_source
from sipconf.routing.index_called import CalledRoute, called_table
from sipconf.routing.index_evaluate import MergedMedia, RuleConfig, TrunkConfig, evaluate, overlay_attributes
from sipconf.routing.index_rules import RuleIndex, first_taking
from sipconf.routing.index_shared import Shared
from sipconf.routing.index_trunks import (
    INDEXED_GROUP_SIZE, IndexedTrunk, TrunkIndex, groups_by_number, members, normalized,
)
from sipconf.routing.route import AuthStep, Mode, Outcome
from sipconf.routing.rules import NO_RULE
from sipconf.routing.trace import Decision
from sipconf.routing.trunks import TrunkMatch, match_trunk
from sipconf.sip.status_lines import ANSWERED, NO_RULE_MATCHED, NO_TRUNK_FOUND, PROXY_CHALLENGE, TRY_AGAIN

# Routing outcomes, from the one table of status lines the reference answers with.
_TRY_AGAIN, _NO_TRUNK, _NO_MATCH = TRY_AGAIN, NO_TRUNK_FOUND, NO_RULE_MATCHED
_CHALLENGE, _ANSWER = PROXY_CHALLENGE, ANSWERED
# Looking a member up on an Enum class is slow enough to show per call.
_OSS, _EXPLICIT = Mode.OSS, Mode.EXPLICIT


# The frozen dataclasses' constructors set each field through `object.__setattr__`; filling
# `__dict__` at once costs a third of that, and a routed call makes two of them.
_new, _set = object.__new__, object.__setattr__


def _outcome(
    action: str,
    status: int | None,
    reason: str,
    trunk: sip.SIPInboundTrunkInfo | None = None,
    rule: sip.SIPDispatchRuleInfo | None = None,
    evaluation=None,
    attributes: dict[str, str] | None = None,
) -> Outcome:
    """`Outcome(action, status, reason, trunk, rule, evaluation, attributes)`."""
    made = _new(Outcome)
    _set(made, "__dict__", {
        "action": action, "status": status, "reason": reason, "trunk": trunk, "rule": rule,
        "evaluation": evaluation, "attributes": {} if attributes is None else attributes,
    })
    return made


def _decision(value, error: LiveKitError | None = None) -> Decision:
    """`Decision(value, error)`, without a trace."""
    made = _new(Decision)
    _set(made, "__dict__", {"value": value, "error": error, "trace": ()})
    return made


class _Unmatched:
    """The trunk is not matched yet (None would mean: matched, and no trunk)."""


UNMATCHED = _Unmatched()


class RoutingIndex:
    """Inbound routing for one set of inbound trunks and dispatch rules.

    Build it again whenever either changes; it keeps the given messages and never reads
    them again after `build`, so they must not be modified in place.
    """

    def __init__(
        self,
        trunks: Sequence[sip.SIPInboundTrunkInfo],
        rules: Sequence[sip.SIPDispatchRuleInfo],
        indexed_group_size: int,
    ) -> None:
        shared = Shared()
        self._rule_index = RuleIndex(list(rules), shared)
        # The reference matches over the trunks sorted by id (a stable sort), so the first
        # trunk of an id in that order is also its first in the given order.
        self._by_id = sorted(trunks, key=lambda t: t.sip_trunk_id)
        configs: dict[tuple, TrunkConfig] = {}
        self._units = units = [
            IndexedTrunk(position, trunk, shared, TrunkConfig.of(trunk, configs),
                         self._rule_index.for_trunk(trunk.sip_trunk_id))
            for position, trunk in enumerate(self._by_id)
        ]
        self._trunk_index = TrunkIndex(units, indexed_group_size)
        for unit in units:
            unit.owner = self._trunk_index.first_with_id(unit.trunk_id)
            unit.dispatched = self._trunk_index.by_id(unit.trunk_id) or unit
        self._called = called_table(
            groups_by_number(units, indexed_group_size), self._rule_index, self._trunk_index.first_with_id, shared
        )
        self._nowhere = CalledRoute(None, None, (), None, self._rule_index.default_any)  # a number nobody lists
        self._no_trunk_error = self._rule_index.no_trunk.error
        self._media: dict[tuple[TrunkConfig | None, RuleConfig], MergedMedia] = {}
        self._distinct_media: dict[tuple[bytes, int], MergedMedia] = {}
        self._lookup = _IndexLookup(self)

    @classmethod
    def build(
        cls,
        trunks: Sequence[sip.SIPInboundTrunkInfo],
        rules: Sequence[sip.SIPDispatchRuleInfo],
        *,
        indexed_group_size: int = INDEXED_GROUP_SIZE,
    ) -> RoutingIndex:
        """`indexed_group_size`: trunks sharing a called number (or the default trunks) are
        looked up through an address/caller index from this many on, scanned below."""
        return cls(trunks, rules, indexed_group_size)

    # -- the decisions ------------------------------------------------------------------------

    def authenticate(self, call: CallFacts, mode: Mode, *, with_trace: bool = False) -> Decision[AuthStep]:
        """`route.authenticate(trunks, call, mode)`."""
        if with_trace:
            return reference.authenticate_via(self._lookup, call, mode)
        matched, error = self._match(call, _source_of(call), self._called_route(call.to_user))
        if error is not None:
            return Decision(AuthStep("error"), error)
        return _decision(_auth_step(matched.trunk if matched is not None else None, mode))

    def dispatch(
        self,
        call: CallFacts,
        mode: Mode,
        project_id: str = "",
        trunk_id_hint: str = "",
        rng: random.Random | None = None,
        *,
        with_trace: bool = False,
    ) -> Decision[Outcome]:
        """`route.dispatch(trunks, rules, call, mode, project_id, trunk_id_hint, rng)`."""
        if with_trace:
            return reference.dispatch_via(self._lookup, call, mode, project_id, trunk_id_hint, rng)
        # The trunk id from the auth step is tried first; without it the trunk is matched again.
        hinted = self._trunk_index.by_id(trunk_id_hint)
        return _ended_by_pin_flow(call, self._decide(
            call, mode, project_id, call.sip_trunk_id or trunk_id_hint, rng, _source_of(call),
            self._called_route(call.to_user), UNMATCHED if hinted is None else hinted,
        ))

    def route(
        self,
        call: CallFacts,
        mode: Mode,
        project_id: str = "",
        authenticated: bool = False,
        rng: random.Random | None = None,
        *,
        with_trace: bool = False,
    ) -> Decision[Outcome]:
        """`route.route(trunks, rules, call, mode, project_id, authenticated, rng)`."""
        if with_trace:
            return reference.route_via(self._lookup, call, mode, project_id, authenticated, rng)
        source = _source_of(call)
        called = self._called_route(call.to_user)
        matched, error = self._match(call, source, called)
        if error is not None:
            return _error(error)
        if matched is None:
            if mode != _OSS:
                return _decision(_outcome("reject", *_NO_TRUNK))
            # Dispatch matches again (no trunk id to try) and finds no trunk again.
            return _ended_by_pin_flow(
                call, self._decide(call, mode, project_id, call.sip_trunk_id, rng, source, called, None)
            )
        if matched.needs_auth and not authenticated:
            return _decision(_outcome("challenge", *_CHALLENGE, matched.trunk))
        return _ended_by_pin_flow(call, self._decide(
            call, mode, project_id, call.sip_trunk_id or matched.trunk_id, rng, source, called,
            matched.dispatched if matched.trunk_id else matched,
        ))

    # -- the steps the checks ask for --------------------------------------------------------

    def match_trunk(self, call: CallFacts) -> Decision[sip.SIPInboundTrunkInfo | None]:
        """The trunk `trunks.match_trunk(trunks, call)` matches (None: none), or its error."""
        matched, error = self._match(call, _source_of(call), self._called_route(call.to_user))
        return Decision(matched.trunk if matched is not None else None, error)

    def select_rule(
        self, trunk: sip.SIPInboundTrunkInfo | None, call: CallFacts
    ) -> Decision[sip.SIPDispatchRuleInfo]:
        """`rules.select_dispatch_rule(candidates, trunk, call)` over the candidates of a call
        on `trunk` (None: no trunk), as dispatch selects: the rule, or why there is none."""
        called = self._called_route(call.to_user)
        if trunk is None:
            error, specific = self._no_trunk_error, ()
        else:
            owner = self._trunk_index.first_with_id(trunk.sip_trunk_id)
            if owner is None:  # a trunk this index does not hold: its rules are looked up
                error, specific = self._rule_index.for_other_trunk(trunk.sip_trunk_id, call.to_user)
            else:
                error, specific = owner.rule_error, called.specific_for(owner)
        if error is not None:
            return Decision(None, error)
        caller, pin, no_pin = call.from_user, call.pin, call.no_pin
        entry = first_taking(specific, caller, pin, no_pin) or first_taking(called.defaults, caller, pin, no_pin)
        if entry is None:
            return Decision(None, LiveKitError(FAILED_PRECONDITION, NO_RULE))
        return Decision(entry.rule)

    # -- inside -------------------------------------------------------------------------------

    def _called_route(self, to_user: str) -> CalledRoute:
        called = self._called.get(to_user)
        if called is None:
            # No rule lists this exact spelling; trunks compare it normalised.
            called = self._called.get(normalized(to_user), self._nowhere).unlisted
        return called

    def _match(
        self, call: CallFacts, source: Source | None, called: CalledRoute
    ) -> tuple[IndexedTrunk | None, LiveKitError | None]:
        return self._trunk_index.match(called.trunks, call.from_user, source, call.from_host, call.to_user)

    def _decide(
        self,
        call: CallFacts,
        mode: Mode,
        project_id: str,
        request_trunk_id: str,
        rng: random.Random | None,
        source: Source | None,
        called: CalledRoute,
        found: IndexedTrunk | None | _Unmatched,
    ) -> Decision[Outcome]:
        if call.src_ip and source is None:
            return _error(LiveKitError(INVALID_ARGUMENT, f"invalid source IP {call.src_ip!r}"))
        if found is UNMATCHED:
            found, error = self._match(call, source, called)
            if error is not None:
                return _error(error)
        if found is None:
            if mode == _EXPLICIT:
                return _decision(_outcome("reject", *_NO_TRUNK))
            trunk, config, trunk_id, error, specific = None, None, request_trunk_id, self._no_trunk_error, ()
        else:
            trunk, config, trunk_id, error = found.trunk, found.config, found.trunk_id, found.rule_error
            specific = called.specific_for(found) if error is None else ()
        if error is not None:
            return _error(error, trunk)
        caller, pin = call.from_user, call.pin
        entry = first_taking(specific, caller, pin, call.no_pin) or first_taking(called.defaults, caller, pin, call.no_pin)
        if entry is None and mode == _EXPLICIT and pin:
            # The PIN rule the caller was prompted for, so the wrong PIN is reported as such.
            again = first_taking(specific, caller, "", False) or first_taking(called.defaults, caller, "", False)
            entry = again if again is not None and again.pin else None
        if entry is None:
            if mode == _OSS:
                return _decision(_outcome("drop", None, "", trunk))
            return _decision(_outcome("reject", *_NO_MATCH, trunk))
        rule = entry.config
        media = self._merged_media(config, rule)
        evaluation, error = evaluate(project_id, trunk_id, config, entry.rule_id, rule, entry.room, media, call, rng)
        if error is not None:
            return _error(error, trunk, entry.rule)
        if evaluation.result == "REQUEST_PIN":
            return _decision(_outcome("request_pin", *_ANSWER, trunk, entry.rule, evaluation))
        attrs = overlay_attributes(
            evaluation.participant_attributes, config, call.headers,
            call.from_tag, call.call_id_full, "active" if pin else "ringing",
        )
        return _decision(_outcome("accept", *_ANSWER, trunk, entry.rule, evaluation, attrs))

    def _merged_media(self, trunk: TrunkConfig | None, rule: RuleConfig) -> MergedMedia:
        # One merge per pair of settings a call reaches, and equal results kept once: most
        # pairs merge to the same few configs, and one config read by every call stays in
        # the CPU's caches.
        key = (trunk, rule)
        merged = self._media.get(key)
        if merged is None:
            merged = MergedMedia.of(trunk, rule)
            content = (merged.media.SerializeToString(deterministic=True), merged.encryption)
            merged = self._media[key] = self._distinct_media.setdefault(content, merged)
        return merged


class _IndexLookup:
    """The reference's lookups (`route.Lookup`) answered by an index, for traced decisions."""

    def __init__(self, index: RoutingIndex) -> None:
        self._index = index
        self._units: dict[int, IndexedTrunk] | None = None  # trunk message (by `id`) -> its record

    def match_trunk(self, call: CallFacts, with_trace: bool) -> Decision[TrunkMatch]:
        index = self._index
        if self._units is None:
            self._units = {id(unit.trunk): unit for unit in index._units}
        screen = _Screen(self._units, index._called_route(call.to_user), call)
        return match_trunk(index._by_id, call, with_trace, screen)

    def hinted(self, trunk_id: str) -> sip.SIPInboundTrunkInfo | None:
        found = self._index._trunk_index.by_id(trunk_id)
        return found.trunk if found is not None else None

    def rule_candidates(self, trunk: sip.SIPInboundTrunkInfo | None) -> list[sip.SIPDispatchRuleInfo]:
        return self._index._rule_index.candidates(trunk.sip_trunk_id if trunk is not None else None)


class _Screen:
    """Trunk matching's tests for one call (`trunks.Screen`), from the trunks' records."""

    def __init__(self, units: dict[int, IndexedTrunk], called: CalledRoute, call: CallFacts) -> None:
        self._units = units
        self._listing = {id(unit) for unit in members(called.trunks)}
        self._caller = normalized(call.from_user)
        self._source, self._host = _source_of(call), call.from_host

    def admits_caller(self, trunk: sip.SIPInboundTrunkInfo) -> bool:
        callers = self._units[id(trunk)].callers
        return callers is None or self._caller in callers

    def admits_source(self, trunk: sip.SIPInboundTrunkInfo) -> bool:
        return self._units[id(trunk)].admits_source(self._source, self._host)

    def lists_called(self, trunk: sip.SIPInboundTrunkInfo) -> bool:
        return id(self._units[id(trunk)]) in self._listing


def _ended_by_pin_flow(call: CallFacts, decided: Decision[Outcome]) -> Decision[Outcome]:
    """`decided` as the PIN flow's second request ends it: the call is already answered, so
    anything but an accept ends in a BYE (no status)."""
    if not (call.pin or call.no_pin) or decided.value.action == "accept":
        return decided
    return Decision(replace(decided.value, status=None), decided.error)


def _source_of(call: CallFacts) -> Source | None:
    """The parsed source IP; None when it is empty or does not parse."""
    return parse_source(call.src_ip) if call.src_ip else None


def _auth_step(trunk: sip.SIPInboundTrunkInfo | None, mode: Mode) -> AuthStep:
    """The reference's `authenticate` once the trunk is known."""
    if trunk is None:
        return AuthStep("accept") if mode == _OSS else AuthStep("no_trunk_found")
    if trunk.auth_username and trunk.auth_password:
        realm = trunk.auth_realm or reference.DEFAULT_REALM
        return AuthStep("password", trunk, trunk.auth_username, trunk.auth_password, realm)
    return AuthStep("accept", trunk)


def _error(
    error: LiveKitError,
    trunk: sip.SIPInboundTrunkInfo | None = None,
    rule: sip.SIPDispatchRuleInfo | None = None,
) -> Decision[Outcome]:
    return _decision(_outcome("error", *_TRY_AGAIN, trunk, rule), error)
