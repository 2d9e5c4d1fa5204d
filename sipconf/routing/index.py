"""Inbound routing by index, built once per state version; the same answers as `route`.

`route.py` (with `trunks`, `rules`, `evaluate`) is the literal port of LiveKit's matching
and stays the reference: it scans every trunk and rule for each call. A `RoutingIndex` is
built once from the inbound trunks and dispatch rules of one state and answers each call
with a few lookups:

- called number (normalised) -> the trunks listing it; the default trunks (no numbers)
  apart; in each group, allowed callers and source addresses (host, IP, CIDR prefixes of
  both families) are indexed (`index_trunks`, `index_addresses`);
- trunk id -> its candidate rules' validation, computed once, and (called number) ->
  candidate rules in priority order (`index_rules`);
- per trunk and per rule, what evaluation reads from them (`index_evaluate`).

`authenticate`, `dispatch` and `route` take the arguments of the reference functions minus
the trunk and rule lists, and return the same `Decision`s. No trace is built unless asked
for (`with_trace=True`); then the reference decides, and explains every trunk and rule it
looked at. Pure: no I/O; after `build` only the merged media config of a (trunk, rule)
pair is remembered the first time a call reaches it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Sequence

from livekit.protocol import sip

from sipconf.routing import route as reference
from sipconf.routing.call import CallFacts
from sipconf.routing.errors import INVALID_ARGUMENT, LiveKitError
from sipconf.routing.index_addresses import Source, TrunkFilter, parse_source
from sipconf.routing.index_evaluate import MergedMedia, PreparedRule, PreparedTrunk, evaluate, overlay_attributes
from sipconf.routing.index_rules import Candidates, RuleIndex
from sipconf.routing.index_trunks import INDEXED_GROUP_SIZE, TrunkIndex, normalized
from sipconf.routing.route import AuthStep, Mode, Outcome
from sipconf.routing.trace import Decision
from sipconf.sip.status_lines import ANSWERED, NO_RULE_MATCHED, NO_TRUNK_FOUND, PROXY_CHALLENGE, TRY_AGAIN

# Routing outcomes, from the one table of status lines the reference answers with.
_TRY_AGAIN, _NO_TRUNK, _NO_MATCH = TRY_AGAIN, NO_TRUNK_FOUND, NO_RULE_MATCHED
_CHALLENGE, _ANSWER = PROXY_CHALLENGE, ANSWERED
# Looking a member up on an Enum class is slow enough to show per call.
_OSS, _EXPLICIT = Mode.OSS, Mode.EXPLICIT


class _Unmatched:
    """The trunk is not matched yet (None would mean: matched, and no trunk)."""


UNMATCHED = _Unmatched()


@dataclass(frozen=True, eq=False, slots=True)
class _TrunkRoute:
    """What routing reads about one matched trunk, in one place."""

    trunk_id: str
    needs_auth: bool  # both auth_username and auth_password set: digest auth
    dispatched: TrunkFilter  # the trunk dispatch takes for this id: the first with it (itself unless ids repeat)
    prepared: PreparedTrunk
    candidates: Candidates


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
        self._trunks = list(trunks)
        self._rules = list(rules)
        self._trunk_index = TrunkIndex(self._trunks, indexed_group_size)
        self._rule_index = RuleIndex(self._rules)
        self._trunk_routes = [
            _TrunkRoute(
                item.trunk.sip_trunk_id, bool(item.trunk.auth_username and item.trunk.auth_password),
                self._trunk_index.by_id(item.trunk.sip_trunk_id) or item, PreparedTrunk.of(item.trunk),
                self._rule_index.candidates(item.trunk.sip_trunk_id),
            )
            for item in self._trunk_index.filters
        ]
        self._no_trunk_candidates = self._rule_index.candidates(None)
        self._prepared_rules = [PreparedRule.of(entry.rule) if entry is not None else None
                                for entry in self._rule_index.entries]
        self._media: dict[tuple[int, int], MergedMedia] = {}
        self._distinct_media: dict[tuple[bytes, int], MergedMedia] = {}

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

    def authenticate(self, call: CallFacts, mode: Mode, *, with_trace: bool = False) -> Decision[AuthStep]:
        """`route.authenticate(trunks, call, mode)`."""
        if with_trace:
            return reference.authenticate(self._trunks, call, mode)
        matched, error = self._match(call, _source_of(call))
        if error is not None:
            return Decision(AuthStep("error"), error)
        return Decision(_auth_step(matched.trunk if matched is not None else None, mode))

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
            return reference.dispatch(self._trunks, self._rules, call, mode, project_id, trunk_id_hint, rng)
        # The trunk id from the auth step is tried first; without it the trunk is matched again.
        hinted = self._trunk_index.by_id(trunk_id_hint)
        return _ended_by_pin_flow(call, self._decide(
            call, mode, project_id, call.sip_trunk_id or trunk_id_hint, rng, _source_of(call),
            UNMATCHED if hinted is None else hinted,
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
            return reference.route(self._trunks, self._rules, call, mode, project_id, authenticated, rng)
        source = _source_of(call)
        matched, error = self._match(call, source)
        if error is not None:
            return _error(error)
        if matched is None:
            if mode != _OSS:
                return Decision(Outcome("reject", *_NO_TRUNK))
            # Dispatch matches again (no trunk id to try) and finds no trunk again.
            return _ended_by_pin_flow(call, self._decide(call, mode, project_id, call.sip_trunk_id, rng, source, None))
        matched_route = self._trunk_routes[matched.position]
        if matched_route.needs_auth and not authenticated:
            return Decision(Outcome("challenge", *_CHALLENGE, matched.trunk))
        return _ended_by_pin_flow(call, self._decide(
            call, mode, project_id, call.sip_trunk_id or matched_route.trunk_id, rng, source,
            matched_route.dispatched if matched_route.trunk_id else matched,
        ))

    def _match(self, call: CallFacts, source: Source | None) -> tuple[TrunkFilter | None, LiveKitError | None]:
        return self._trunk_index.match(
            normalized(call.to_user), normalized(call.from_user), source, call.from_host, call.to_user
        )

    def _decide(
        self,
        call: CallFacts,
        mode: Mode,
        project_id: str,
        request_trunk_id: str,
        rng: random.Random | None,
        source: Source | None,
        found: TrunkFilter | None | _Unmatched,
    ) -> Decision[Outcome]:
        if call.src_ip and source is None:
            return _error(LiveKitError(INVALID_ARGUMENT, f"invalid source IP {call.src_ip!r}"))
        if found is UNMATCHED:
            found, error = self._match(call, source)
            if error is not None:
                return _error(error)
        if found is None:
            if mode == _EXPLICIT:
                return Decision(Outcome("reject", *_NO_TRUNK))
            trunk, prepared_trunk, candidates = None, None, self._no_trunk_candidates
        else:
            found_route = self._trunk_routes[found.position]
            trunk, prepared_trunk, candidates = found.trunk, found_route.prepared, found_route.candidates
        if candidates.error is not None:
            return _error(candidates.error, trunk)
        entry = candidates.best(call.to_user, call.from_user, call.pin, call.no_pin)
        if entry is None and mode == _EXPLICIT and call.pin:
            # The PIN rule the caller was prompted for, so the wrong PIN is reported as such.
            again = candidates.best(call.to_user, call.from_user, "", False)
            entry = again if again is not None and again.pin else None
        if entry is None:
            if mode == _OSS:
                return Decision(Outcome("drop", None, "", trunk))
            return Decision(Outcome("reject", *_NO_MATCH, trunk))
        rule = self._prepared_rules[entry.rank]
        media = self._merged_media(found, prepared_trunk, entry.rank, rule)
        evaluation, error = evaluate(project_id, prepared_trunk, rule, media, call, request_trunk_id, rng)
        if error is not None:
            return _error(error, trunk, entry.rule)
        if evaluation.result == "REQUEST_PIN":
            return Decision(Outcome("request_pin", *_ANSWER, trunk, entry.rule, evaluation))
        attrs = overlay_attributes(
            evaluation.participant_attributes, prepared_trunk, call.headers,
            call.from_tag, call.call_id_full, "active" if call.pin else "ringing",
        )
        return Decision(Outcome("accept", *_ANSWER, trunk, entry.rule, evaluation, attrs))

    def _merged_media(
        self, found: TrunkFilter | None, trunk: PreparedTrunk | None, rank: int, rule: PreparedRule
    ) -> MergedMedia:
        # One merge per (trunk, rule) pair a call reaches; pairs are at most trunks x rules.
        # Equal results are kept once: most pairs merge to the same few configs, and one
        # config read by every call stays in the CPU's caches.
        key = (found.position if found is not None else -1, rank)
        merged = self._media.get(key)
        if merged is None:
            merged = MergedMedia.of(trunk, rule)
            content = (merged.media.SerializeToString(deterministic=True), merged.encryption)
            merged = self._media[key] = self._distinct_media.setdefault(content, merged)
        return merged


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
    return Decision(Outcome("error", *_TRY_AGAIN, trunk, rule), error)
