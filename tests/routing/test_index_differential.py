"""The routing index answers every call exactly as the literal routing engine does.

Hypothesis draws the shape of a spec (how many trunks and rules, how often each feature
appears) and a seed; the spec itself (up to hundreds of trunks and rules with overlapping
numbers in several spellings, default trunks, caller lists, IPv4/IPv6 addresses and CIDRs,
hosts, invalid masks, PINs, rules naming no trunk) and its calls (mostly to the spec's own
numbers, from its own sources) are built from the seed. Every call goes through `route`,
`authenticate` and `dispatch` of both, in both modes, and the answers must be equal: the
trunk and rule objects, status, reason, error, the whole evaluation (room, identity,
attributes, media...) and the participant's final attributes. Asked for a trace, the index
must also explain the call line for line as the reference does. Its steps for the checks
(`match_trunk`, `select_rule`) must equal the reference's trunk matching and rule selection.

A second test injects a known bug into the index and checks that the same search, with the
same seed and example count, finds it.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from livekit.protocol import sip

from sipconf.routing import index_addresses, index_rules, index_trunks
from sipconf.routing.call import CallFacts
from sipconf.routing.index import RoutingIndex
from sipconf.routing.numbers import normalize_number
from sipconf.routing.route import Mode, authenticate, dispatch, route
from sipconf.routing.rules import select_dispatch_rule
from sipconf.routing.trunks import match_trunk

SEARCH = settings(
    max_examples=50,
    derandomize=True,  # the same examples on every run and machine
    database=None,
    deadline=None,  # never assert on timings
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CALLS_PER_SPEC = 20

# Shared pools: numbers, masks and users that many trunks and rules may list at once.
SHORT_NUMBERS = ["4420", "3", "7000"]
USERS = ["alice", "Alice", "", "+", "1.555", "1+2", "anonymous"]
IPV4 = ["10.0.0.1", "10.0.0.2", "10.1.2.3", "192.168.1.7", "127.0.0.1", "172.16.5.4"]
IPV6 = ["::1", "2001:db8::1", "2001:db8::2", "2001:db8:1::7", "::ffff:10.0.0.1", "fe80::1%eth0"]
CIDRS = [
    "10.0.0.0/8", "10.0.0.0/24", "10.0.0.1/32", "10.1.2.3/32", "192.168.0.0/16", "172.16.0.0/12",
    "10.0.0.5/24", "0.0.0.0/0", "127.0.0.1/32", "2001:db8::/32", "2001:db8::1/128", "2001:db8:1::/48",
    "::/0", "::ffff:10.0.0.0/104", "10.0.0.0/08", "fe80::1%eth0/64", "10.0.0.0/33",
]
HOSTS = ["carrier.example", "Carrier.Example", "sip.example.com", "[::1]", "pbx"]
INVALID_MASKS = ["10.0.0.1, 10.0.0.2", "sip://10.0.0.1", "10.0.0.1 ", "*", "(x)", ""]
PINS = ["1234", "0000", "42", "7", "99", "31337"]
ROOMS = ["sales", "", "support", "a", "b", "pref_"]
HEADERS = [
    "X-Tier", "x-tier", "X-Twilio-CallSid", "X-Twilio-AccountSid", "X-call_leg_id", "X-Lk-Test-Id",
    "X-Amzn-ConnectContactId", "User-Agent", "X-Custom",
]


def own_mask(rng: random.Random, n: int) -> str:
    """A mask only trunk `n` lists: its own network, address, /32 or /128, or host."""
    high, low = divmod(n, 256)
    return rng.choice([
        f"10.{high}.{low}.0/24", f"172.{16 + high}.{low}.9", f"198.51.{high}.{low}/32",
        f"2001:db8:{n:x}::/48", f"2001:db8:{n:x}::5", f"2001:db8:{n:x}::5/128", f"pbx{n}.example",
    ])


def shared_mask(rng: random.Random) -> str:
    pool = rng.choices([IPV4, IPV6, CIDRS, HOSTS, INVALID_MASKS], weights=[4, 2, 6, 2, 1])[0]
    return rng.choice(pool)


def spelled(rng: random.Random, number: str) -> str:
    """The number, or another spelling that normalises to the same number."""
    digits = number.lstrip("+")
    if not digits.isdigit():
        return number
    form = rng.randrange(6)
    if form == 0:
        return digits
    if form == 1:
        return "+" + digits
    if form == 2:
        return "+" + " ".join(digits[i:i + 3] for i in range(0, len(digits), 3))
    if form == 3:
        return "-".join(digits[i:i + 4] for i in range(0, len(digits), 4))
    if form == 4:
        return f"({digits[:3]}) {digits[3:]}" if len(digits) > 3 else f"({digits})"
    return number


def a_number(rng: random.Random, numbers: list[str]) -> str:
    return rng.choice(USERS) if rng.random() < 0.08 else spelled(rng, rng.choice(numbers))


def a_source_for(rng: random.Random, mask: str) -> tuple[str, str]:
    """A source IP and From host the mask admits: for a CIDR any host of the network, for an
    address itself, for a host name (or an invalid mask) the name as From host."""
    other = rng.choice(IPV4 + IPV6)
    if "/" in mask:
        try:
            network = ipaddress.ip_network(mask, strict=False)
        except ValueError:
            return other, mask
        span = min(network.num_addresses, 1 << 16)
        return str(network.network_address + rng.randrange(span)), rng.choice(HOSTS)
    try:
        ipaddress.ip_address(mask.partition("%")[0])
    except ValueError:
        return other, mask
    return mask, rng.choice(HOSTS)


@dataclass
class Shape:
    """What hypothesis draws: sizes and how often each feature appears; the rest is the seed."""

    seed: int
    trunks: int
    rules: int
    spread: float  # distinct called numbers per trunk: low values make trunks share numbers
    defaults: float  # share of default trunks (no numbers)
    allowlists: float  # share of trunks with allowed_addresses
    callers: float  # share of trunks with allowed_numbers
    rule_defaults: float  # share of rules naming no trunk
    pins: float
    rooms: int  # distinct room names and prefixes: with one, rules of equal priority tie
    clean_rules: bool  # drop rules that would conflict, so selection (not 503) is exercised
    invalid_rule: bool  # one rule with no room rule at all


shapes = st.builds(
    Shape,
    seed=st.integers(0, 2**32 - 1),
    trunks=st.one_of(st.integers(1, 12), st.integers(0, 300)),
    rules=st.one_of(st.integers(0, 12), st.integers(0, 300)),
    spread=st.sampled_from([0.3, 1.0, 3.0]),
    defaults=st.sampled_from([0.0, 0.05, 0.2, 0.5]),
    allowlists=st.sampled_from([0.0, 0.3, 0.7, 1.0]),
    callers=st.sampled_from([0.0, 0.2, 0.5]),
    rule_defaults=st.sampled_from([0.0, 0.2, 0.5]),
    pins=st.sampled_from([0.0, 0.2, 0.5]),
    rooms=st.sampled_from([1, 2, len(ROOMS)]),
    clean_rules=st.sampled_from([True, True, True, False]),
    invalid_rule=st.sampled_from([False] * 9 + [True]),
)


def make_trunks(rng: random.Random, shape: Shape, numbers: list[str]) -> list[sip.SIPInboundTrunkInfo]:
    out = []
    for n in range(shape.trunks):
        roll = rng.random()
        trunk_id = "" if roll < 0.01 else f"ST_{rng.randrange(shape.trunks):03d}" if roll < 0.04 else f"ST_{n:03d}"
        trunk = sip.SIPInboundTrunkInfo(sip_trunk_id=trunk_id, name=f"trunk {n}")
        if rng.random() >= shape.defaults:
            trunk.numbers.extend(a_number(rng, numbers) for _ in range(rng.randint(1, 4)))
        if rng.random() < shape.allowlists:
            trunk.allowed_addresses.extend(
                own_mask(rng, n) if rng.random() < 0.6 else shared_mask(rng) for _ in range(rng.randint(1, 3))
            )
        if rng.random() < shape.callers:
            trunk.allowed_numbers.extend(a_number(rng, numbers) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.15:
            trunk.auth_username, trunk.auth_password = "user", "secret"
            trunk.auth_realm = rng.choice(["", "example"])
        elif rng.random() < 0.05:
            trunk.auth_username = "user-only"
        if rng.random() < 0.3:
            trunk.headers_to_attributes[rng.choice(HEADERS)] = rng.choice(["tier", "sip.callTag", "sip.twilio.callSid"])
        trunk.include_headers = rng.choice([sip.SIP_NO_HEADERS] * 3 + [sip.SIP_X_HEADERS, sip.SIP_ALL_HEADERS])
        if rng.random() < 0.2:
            trunk.headers["X-Out"] = "1"
            trunk.attributes_to_headers["tier"] = "X-Tier"
        if rng.random() < 0.2:
            trunk.media_encryption = sip.SIP_MEDIA_ENCRYPT_ALLOW
        if rng.random() < 0.2:
            trunk.media.media_timeout.seconds = 20
            trunk.media.codecs.add(name="PCMU")
        if rng.random() < 0.2:
            trunk.ringing_timeout.seconds = 30
            trunk.max_call_duration.seconds = 600
        trunk.krisp_enabled = rng.random() < 0.1
        out.append(trunk)
    return out


def rule_keys(rule: sip.SIPDispatchRuleInfo, pin: str) -> set[tuple[str, str, str, str]]:
    """The conflict keys of LiveKit's dispatch-rule validation, to keep generated specs clean."""
    return {
        (trunk_id, normalize_number(inbound), normalize_number(number), pin)
        for trunk_id in rule.trunk_ids or [""]
        for inbound in rule.inbound_numbers or [""]
        for number in rule.numbers or [""]
    }


def key_count(rule: sip.SIPDispatchRuleInfo) -> int:
    return len(rule.trunk_ids or [""]) * len(rule.inbound_numbers or [""]) * len(rule.numbers or [""])


def make_rules(
    rng: random.Random, shape: Shape, trunks: list[sip.SIPInboundTrunkInfo], numbers: list[str]
) -> list[sip.SIPDispatchRuleInfo]:
    by_id = {t.sip_trunk_id: t for t in trunks}
    out, owned = [], set()
    for n in range(shape.rules):
        roll = rng.random()
        rule_id = f"SDR_{rng.randrange(shape.rules):03d}" if roll < 0.03 else f"SDR_{n:03d}"
        rule = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id=rule_id, name=f"rule {n}")
        kind = rng.choice(["direct", "individual", "callee"])
        pin = rng.choice(PINS) if rng.random() < shape.pins else ""
        room = rng.choice(ROOMS[:shape.rooms])
        if kind == "direct":
            rule.rule.dispatch_rule_direct.room_name = room or "main"
            rule.rule.dispatch_rule_direct.pin = pin
        elif kind == "individual":
            rule.rule.dispatch_rule_individual.room_prefix = room
            rule.rule.dispatch_rule_individual.pin = pin
            rule.rule.dispatch_rule_individual.no_randomness = rng.random() < 0.5
        else:
            rule.rule.dispatch_rule_callee.room_prefix = room
            rule.rule.dispatch_rule_callee.pin = pin
            rule.rule.dispatch_rule_callee.randomize = rng.random() < 0.5
        named = None
        if trunks and rng.random() >= shape.rule_defaults:
            named = rng.choice(trunks)
            rule.trunk_ids.append(named.sip_trunk_id)
            if rng.random() < 0.2:
                rule.trunk_ids.append(rng.choice(trunks).sip_trunk_id)
            if rng.random() < 0.03:
                rule.trunk_ids.append(rng.choice(["", "ST_unknown"]))
        called = list(named.numbers) if named is not None and named.numbers else numbers
        callers = list(named.allowed_numbers) if named is not None and named.allowed_numbers else numbers
        if rng.random() < 0.45:
            rule.numbers.extend(rng.choice(called) for _ in range(rng.randint(1, 2)))
        if rng.random() < 0.25:
            rule.inbound_numbers.extend(rng.choice(callers) for _ in range(rng.randint(1, 2)))
        rule.hide_phone_number = rng.random() < 0.15
        if rng.random() < 0.3:
            rule.attributes.update({"tier": "gold", "sip.trunkID": "from-rule", "sip.phoneNumber": "x"})
        if rng.random() < 0.2:
            rule.metadata, rule.room_preset = '{"m":1}', "preset"
            rule.room_config.agents.add(agent_name="agent", metadata="m")
        if rng.random() < 0.2:
            rule.media.encryption = rng.choice([sip.SIP_MEDIA_ENCRYPT_DISABLE, sip.SIP_MEDIA_ENCRYPT_REQUIRE])
        rule.krisp_enabled = rng.random() < 0.1
        if shape.clean_rules:
            keys = rule_keys(rule, pin)
            if keys & owned or len(keys) < key_count(rule):  # a conflict, or one with itself
                continue
            owned |= keys
        out.append(rule)
    if shape.invalid_rule and out:
        out[rng.randrange(len(out))].ClearField("rule")
    rng.shuffle(out)
    return out


def make_calls(
    rng: random.Random, trunks: list[sip.SIPInboundTrunkInfo], rules: list[sip.SIPDispatchRuleInfo], numbers: list[str]
) -> list[CallFacts]:
    """Calls aimed mostly at one trunk of the spec: its numbers, callers and sources."""
    rule_numbers = [n for r in rules for n in r.numbers]
    rule_callers = [n for r in rules for n in r.inbound_numbers]
    pins = [r.rule.dispatch_rule_direct.pin or r.rule.dispatch_rule_individual.pin or r.rule.dispatch_rule_callee.pin
            for r in rules] + ["9999"]
    by_id = {t.sip_trunk_id: t for t in trunks}
    named = [by_id[i] for r in rules for i in r.trunk_ids if i in by_id]
    calls = []
    for n in range(CALLS_PER_SPEC):
        roll = rng.random()
        if named and roll < 0.4:  # a trunk some rule names
            target = rng.choice(named)
        elif trunks and roll < 0.85:
            target = rng.choice(trunks)
        else:
            target = sip.SIPInboundTrunkInfo()
        roll = rng.random()
        if target.numbers and roll < 0.6:
            to_user = rng.choice(target.numbers)
        elif target.numbers and roll < 0.75:  # another spelling: trunks still match, rules do not
            to_user = spelled(rng, rng.choice(target.numbers))
        elif rule_numbers and roll < 0.9:
            to_user = rng.choice(rule_numbers)
        else:
            to_user = a_number(rng, numbers)
        roll = rng.random()
        if target.allowed_numbers and roll < 0.7:
            from_user = spelled(rng, rng.choice(target.allowed_numbers))
        elif rule_callers and roll < 0.85:
            from_user = rng.choice(rule_callers)
        else:
            from_user = a_number(rng, numbers)
        roll = rng.random()
        from_host = rng.choice(HOSTS + ["", "10.0.0.1"])
        if target.allowed_addresses and roll < 0.75:
            src_ip, from_host = a_source_for(rng, rng.choice(target.allowed_addresses))
        elif roll < 0.82:
            src_ip = ""
        elif roll < 0.86:
            src_ip = rng.choice(["bogus", "10.0.0.256", "fe80::1%", "01.2.3.4"])
        else:
            src_ip = rng.choice(IPV4 + IPV6)
        pin, no_pin = "", False
        if rng.random() < 0.25:
            pin = rng.choice(pins) or "1234"
        elif rng.random() < 0.1:
            no_pin = True
        headers = tuple((rng.choice(HEADERS), f"v{i}") for i in range(rng.randint(0, 4)))
        calls.append(CallFacts(
            from_user=from_user, to_user=to_user, from_host=from_host, src_ip=src_ip,
            sip_call_id=f"SCL_{n}", call_id_full=f"{n}@test", from_tag=f"tag{n}", headers=headers,
            pin=pin, no_pin=no_pin,
            extra_attributes={"extra": "1", "sip.callID": "overwritten"} if rng.random() < 0.1 else {},
            sip_trunk_id=rng.choice(["", "ST_req"]) if rng.random() < 0.1 else "",
        ))
    return calls


def make_spec(shape: Shape):
    rng = random.Random(shape.seed)
    count = max(2, int(shape.trunks * shape.spread))
    numbers = [f"1510555{n:04d}" for n in rng.sample(range(10_000), count)] + SHORT_NUMBERS
    trunks = make_trunks(rng, shape, numbers)
    rules = make_rules(rng, shape, trunks, numbers)
    return rng, trunks, rules, make_calls(rng, trunks, rules, numbers)


def same_outcome(got, want, where: str) -> None:
    assert got.trace == (), f"{where}: the index built a trace nobody asked for"
    assert got.error == want.error, where
    g, w = got.value, want.value
    assert (g.action, g.status, g.reason) == (w.action, w.status, w.reason), where
    assert g.trunk is w.trunk, f"{where}: trunk {_id(g.trunk)} != {_id(w.trunk)}"
    assert g.rule is w.rule, f"{where}: rule {_id(g.rule)} != {_id(w.rule)}"
    assert g.evaluation == w.evaluation, where  # room (or its pattern), identity, attributes, media...
    assert list(g.attributes.items()) == list(w.attributes.items()), where
    if w.evaluation is not None:
        assert list(g.evaluation.participant_attributes.items()) == list(w.evaluation.participant_attributes.items())


def same_auth(got, want, where: str) -> None:
    assert got.trace == () and got.error == want.error, where
    g, w = got.value, want.value
    assert (g.result, g.username, g.password, g.realm) == (w.result, w.username, w.password, w.realm), where
    assert g.trunk is w.trunk, f"{where}: trunk {_id(g.trunk)} != {_id(w.trunk)}"


def same_traced(got, want, where: str) -> None:
    """A traced decision of the index is the reference's, trace and all."""
    assert got.trace == want.trace, where
    assert got.error == want.error, where
    assert got.value == want.value, where
    assert getattr(got.value, "trunk", None) is getattr(want.value, "trunk", None), where
    assert getattr(got.value, "rule", None) is getattr(want.value, "rule", None), where


def same_steps(index: RoutingIndex, trunks, rules, call: CallFacts, others, where: str) -> None:
    """`match_trunk` and `select_rule` (for the matched trunk, no trunk, and `others`)."""
    matched = match_trunk(trunks, call, with_trace=False)  # the literal matching does not depend on order
    got = index.match_trunk(call)
    assert got.error == matched.error, where
    assert got.value is (matched.value.trunk if matched.value is not None else None), where
    for trunk in [got.value, None, *others]:
        candidates = [r for r in rules if trunk is None or not r.trunk_ids or trunk.sip_trunk_id in r.trunk_ids]
        want = select_dispatch_rule(sorted(candidates, key=lambda r: r.sip_dispatch_rule_id), trunk, call, False)
        selected = index.select_rule(trunk, call)
        assert (selected.value, selected.error) == (want.value, want.error), f"select_rule({_id(trunk)}), {where}"
        assert selected.value is want.value, where


def _id(obj) -> str:
    return "none" if obj is None else repr(getattr(obj, "sip_trunk_id", None) or getattr(obj, "sip_dispatch_rule_id", ""))


def check_spec(shape: Shape) -> None:
    rng, trunks, rules, calls = make_spec(shape)
    # Groups of trunks are scanned below a size and indexed from it; check both ways.
    indexes = {size: RoutingIndex.build(trunks, rules, indexed_group_size=size) for size in (1, 8)}
    trunk_ids = [t.sip_trunk_id for t in trunks] + ["", "ST_unknown"]
    for n, call in enumerate(calls):
        others = rng.sample(trunks, min(1, len(trunks))) + [sip.SIPInboundTrunkInfo(sip_trunk_id="ST_unknown")]
        same_steps(indexes[8], trunks, rules, call, others, f"call {n} {call}")
        for mode in Mode:
            authenticated = rng.random() < 0.7
            hint = rng.choice(trunk_ids)
            auth = authenticate(trunks, call, mode)
            routed = route(trunks, rules, call, mode, "project", authenticated, random.Random(n))
            dispatched = dispatch(trunks, rules, call, mode, "project", hint, random.Random(n))
            where = f"call {n} {call} mode {mode}, traced"
            traced = indexes[8]
            same_traced(traced.authenticate(call, mode, with_trace=True), auth, f"authenticate, {where}")
            same_traced(
                traced.route(call, mode, "project", authenticated, random.Random(n), with_trace=True), routed,
                f"route, {where}",
            )
            same_traced(
                traced.dispatch(call, mode, "project", hint, random.Random(n), with_trace=True), dispatched,
                f"dispatch with hint {hint!r}, {where}",
            )
            for size, index in indexes.items():
                where = f"call {n} {call} mode {mode} groups indexed from {size}"
                same_auth(index.authenticate(call, mode), auth, f"authenticate, {where}")
                same_outcome(
                    index.route(call, mode, "project", authenticated, random.Random(n)), routed, f"route, {where}"
                )
                same_outcome(
                    index.dispatch(call, mode, "project", hint, random.Random(n)), dispatched,
                    f"dispatch with hint {hint!r}, {where}",
                )


@SEARCH
@given(shapes)
def test_index_answers_as_the_reference(shape: Shape) -> None:
    check_spec(shape)


def _ignore_ipv4_host_prefixes(compile_masks):
    """An IPv4 /32 CIDR never contains the source it names."""

    def compile_without(masks):
        compiled = compile_masks(masks)
        if compiled is None:
            return None
        kept = tuple((version, shift, key) for version, shift, key in compiled.prefixes if (version, shift) != (4, 0))
        return replace(compiled, prefixes=kept)

    return compile_without


def _first_trunk_wins(admitted):
    """Several admitted trunks of a scanned group are no conflict: the first one is taken."""

    def admitted_without_conflict(self, caller, addr, host):
        found = admitted(self, caller, addr, host)
        if found is index_trunks.MANY:
            return next(f for f in self._filters if f.admits(caller, addr, host))
        return found

    return admitted_without_conflict


def _later_rule_wins_ties(order):
    """Two rules of equal priority and room: the later by id wins."""
    return lambda rank, rule: (*order(rank, rule)[:2], -rank)


def _only_the_trunks_own_rules(candidates):
    """A traced decision on a trunk reads only the rules naming it, not those naming none."""

    def own(self, trunk_id):
        if trunk_id is None:
            return candidates(self, trunk_id)
        return [r for r in candidates(self, trunk_id) if trunk_id in r.trunk_ids]

    return own


@pytest.mark.parametrize("bug", ["/32 ignored", "first trunk wins", "later rule wins ties", "traced candidates"])
def test_the_differential_search_finds_an_injected_index_bug(bug: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if bug == "traced candidates":
        monkeypatch.setattr(index_rules.RuleIndex, "candidates", _only_the_trunks_own_rules(index_rules.RuleIndex.candidates))
    elif bug == "/32 ignored":
        original = index_addresses.AddressMasks.compile
        monkeypatch.setattr(index_addresses.AddressMasks, "compile", staticmethod(_ignore_ipv4_host_prefixes(original)))
    elif bug == "first trunk wins":
        monkeypatch.setattr(index_trunks.ScannedGroup, "admitted", _first_trunk_wins(index_trunks.ScannedGroup.admitted))
    else:
        monkeypatch.setattr(index_rules, "selection_order", _later_rule_wins_ties(index_rules.selection_order))
    # The same search (seed, example count) as the test above, without shrinking the failure.
    search = settings(SEARCH, phases=[Phase.explicit, Phase.reuse, Phase.generate])
    with pytest.raises(AssertionError):
        search(given(shapes)(check_spec))()
