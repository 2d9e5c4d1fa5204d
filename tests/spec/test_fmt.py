"""`sipconf fmt`'s rewriting (sipconf.spec.fmt): keys in schema order, numbers sorted into
ranges, comments kept; idempotent and meaning-preserving on generated specs (hypothesis)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from sipconf.spec import loads
from sipconf.spec.fmt import format_text, same_meaning

SPEC = """\
# top comment
project: acme   # the project
version: 1
dispatch_rules:
  support:
    numbers: ["+15105550103", "+15105550100", "+15105550102", "+15105550101"]
    trunks: [twilio]
    direct: {room: support}
trunks:
  twilio:
    inbound:
      allowed_addresses: ["127.0.0.11/32"]
      numbers:
        - "+15105550105"   # the fax line
        - "+15105550101"
        - {user: "1002"}
        - "+15105550100"
        - {user: "1001"}
        - "+15105550102"   # reception
        - {user: "1000"}
        - "+15105550104"
        - "+15105550103"
"""

FORMATTED = """\
# top comment
version: 1
project: acme   # the project
trunks:
  twilio:
    inbound:
      numbers:
        - "+15105550100..+15105550105" # the fax line # reception
        - {user: "1000..1002"}
      allowed_addresses: ["127.0.0.11/32"]
dispatch_rules:
  support:
    direct: {room: support}
    trunks: [twilio]
    numbers: ["+15105550100..+15105550103"]
"""


def test_keys_go_in_schema_order_and_numbers_into_sorted_ranges_with_their_comments():
    assert format_text(SPEC) == FORMATTED
    assert format_text(FORMATTED) == FORMATTED
    assert same_meaning(loads(SPEC, "a.yaml"), loads(FORMATTED, "a.yaml"))


def test_a_formatted_spec_is_left_exactly_as_written():
    text = (
        "version: 1\nproject: acme\ntrunks:\n  t:\n    inbound:\n"
        "      numbers: ['+15105550100', \"+15105550102\"]  # two, not a run\n"
        "      allowed_addresses: [127.0.0.1]\n"
    )
    assert format_text(text) == text


def test_an_overlay_orders_like_the_objects_it_changes():
    text = (
        "version: 1\nproject: acme\n"
        "trunks:\n  t:\n    inbound: {numbers: [\"+15105550100\"], allowed_addresses: [127.0.0.1]}\n"
        "environments:\n  prod:\n    trunks:\n      t:\n        inbound:\n"
        "          allowed_addresses: [127.0.0.2]\n          numbers: [\"+15105550102\", \"+15105550101\"]\n"
        "    url: https://example.livekit.cloud\n"
    )
    assert format_text(text).split("environments:\n", 1)[1] == (
        "  prod:\n    url: https://example.livekit.cloud\n    trunks:\n      t:\n        inbound:\n"
        "          numbers: [\"+15105550101\", \"+15105550102\"]\n          allowed_addresses: [127.0.0.2]\n"
    )


def test_same_meaning_tells_a_changed_spec_apart():
    other = FORMATTED.replace('"+15105550100..+15105550103"', '"+15105550100..+15105550104"')
    assert not same_meaning(loads(FORMATTED, "a.yaml"), loads(other, "a.yaml"))


# -- generated specs --------------------------------------------------------------------------

comments = st.integers(0, 10**6).map(lambda n: f"c{n}")


@st.composite
def number_list(draw, base: int, users: bool) -> tuple[list[str], list[str]]:
    """Distinct numbers near `base` (so runs happen), some as existing ranges; (entries, comments)."""
    picked = draw(st.lists(st.integers(0, 30), min_size=1, max_size=12, unique=True))
    entries = [f'"+1510555{base + n:04d}"' for n in picked]
    if draw(st.booleans()):  # a range entry, clear of the single numbers
        start = draw(st.integers(50, 60))
        entries.append(f'"+1510555{base + start:04d}..+1510555{base + start + draw(st.integers(0, 5)):04d}"')
    if users:
        entries += [f'{{user: "{1000 + n}"}}' for n in draw(st.lists(st.integers(0, 12), max_size=6, unique=True))]
    entries = draw(st.permutations(entries))
    notes: list[str] = []
    if draw(st.booleans()):
        return entries, notes
    lines = []
    for entry in entries:
        note = draw(st.one_of(st.none(), comments))
        lines.append(f"{entry}  # {note}" if note else entry)
        notes += [note] if note else []
    return lines, notes


def _block(entries: list[str], indent: int) -> str:
    pad = " " * indent
    return "\n" + "".join(f"{pad}- {e}\n" for e in entries)


@st.composite
def spec_text(draw) -> tuple[str, list[str]]:
    notes: list[str] = []

    def numbers(base: int, users: bool, indent: int) -> str:
        entries, found = draw(number_list(base, users))
        notes.extend(found)
        if not found and draw(st.booleans()):
            return "[" + ", ".join(entries) + "]\n"
        return _block(entries, indent)

    def mapping(fields: dict[str, str], indent: int) -> str:
        keys = draw(st.permutations(list(fields)))
        pad = " " * indent
        out = ""
        for key in keys:
            note = draw(st.one_of(st.none(), comments))
            if note:
                notes.append(note)
                out += f"{pad}# {note}\n"
            value = fields[key]
            out += f"{pad}{key}: {value}" + ("" if value.endswith("\n") else "\n")
        return out

    trunks = ""
    names = draw(st.lists(st.sampled_from(["twilio", "telnyx", "lab"]), min_size=1, max_size=3, unique=True))
    for i, name in enumerate(names):
        inbound = {"numbers": numbers(i * 100, True, 8), "allowed_addresses": f'["127.0.0.{i + 1}/32"]'}
        if draw(st.booleans()):
            inbound["include_headers"] = "x-headers"
        if draw(st.booleans()):
            inbound["krisp"] = "true"
        if draw(st.booleans()):
            inbound["metadata"] = "{team: voice}"
        halves = {"inbound": "\n" + mapping(inbound, 6)}
        if draw(st.booleans()):
            halves["outbound"] = "\n" + mapping(
                {"address": f"127.0.0.{20 + i}:5070", "transport": "udp", "numbers": numbers(i * 100, False, 8)}, 6
            )
        trunks += f"  {name}:\n" + mapping(halves, 4)
    rules = ""
    for j in range(draw(st.integers(0, 3))):
        fields = {"direct": f"{{room: room-{j}}}", "trunks": "[" + names[j % len(names)] + "]"}
        if draw(st.booleans()):
            fields["numbers"] = numbers(j * 100, False, 6)
        if draw(st.booleans()):
            fields["attributes"] = "{b: two, a: one}"
        rules += f"  rule-{j}:\n" + mapping(fields, 4)
    top = {"version": "1", "project": "acme", "trunks": "\n" + trunks}
    if rules:
        top["dispatch_rules"] = "\n" + rules
    if draw(st.booleans()):
        top["environments"] = f"\n  prod:\n    trunks:\n      {names[0]}:\n        inbound:\n" \
            f"          krisp: true\n          numbers: {numbers(0, False, 12)}"
    return mapping(top, 0), notes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_text())
def test_fmt_is_idempotent_keeps_comments_and_meaning(generated):
    text, notes = generated
    before = loads(text, "gen.yaml")
    once = format_text(text)
    assert format_text(once) == once
    assert same_meaning(before, loads(once, "gen.yaml"))
    if "environments:" in text:
        assert same_meaning(loads(text, "gen.yaml", env="prod"), loads(once, "gen.yaml", env="prod"))
    kept = re.findall(r"# (c\d+)", once)
    assert sorted(kept) == sorted(notes)
    _assert_numbers_formatted(once)


def _assert_numbers_formatted(text: str) -> None:
    from sipconf.plan.ranges import collapse, expand_entries, sort_key

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("numbers", "allowed_numbers", "inbound_numbers"):
                    phones = [e for e in value if isinstance(e, str)]
                    users = [e["user"] for e in value if isinstance(e, dict)]
                    assert phones == collapse(sorted(expand_entries(phones), key=sort_key))
                    assert users == collapse(sorted(expand_entries(users), key=sort_key))
                    assert value == phones + [{"user": u} for u in users]
                else:
                    walk(value)

    walk(YAML(typ="safe").load(text))
