"""Loopback only, whatever a message says: generated and fuzzed reply-address fields (Via
sent-by, received, rport, maddr; Contact) sent to a running bridge over real UDP and TCP.
After each, the listener still serves (an OPTIONS gets its 200), and every sendto, connect
and name lookup of the process went to a loopback IP literal (`hostile_helpers.Wire`).

The fuzz sends 2,000 datagrams; `SIPCONF_SOAK=1` makes it the full 100,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipconf.agent import Agent
from sipconf.bridge.transaction import T1, T4

from .hostile_helpers import (bridge_bye_to, call_completes, options, recorded_wire, routed_bridge,
                              tcp_probe_answered, udp_client, udp_probe_answered)

GOOD = [p.read_bytes() for p in sorted((Path(__file__).parent.parent / "sip" / "data" / "good").glob("*.sip"))]
FUZZED = 100_000 if os.environ.get("SIPCONF_SOAK") == "1" else 2_000

HOSTS = ["127.0.0.1", "127.9.9.9", "[::1]", "::1", "localhost", "0.0.0.0", "192.0.2.1", "255.255.255.255",
         "10.0.0.1", "evil.example.com", "[2001:db8::1]", "[fe80::1%eth0]", "[::ffff:127.0.0.1]", "[::1:zz]",
         "127.0.0.1\x00evil", "\x1b[2J", "", "[", "]", "%", "127.1", "0x7f000001", "2130706433", "::"]
PORTS = ["", "0", "1", "5060", "65535", "65536", "70000", "-1", "99999999999999999999", "\uff16\uff10", "5060 ",
         "0x10", "1e3"]


@contextlib.contextmanager
def running(coroutine_context):
    """Enter an async context on a loop of our own and keep it open across hypothesis
    examples: ``with running(ctx) as (value, run): run(coro)``."""
    loop = asyncio.new_event_loop()
    stack = contextlib.AsyncExitStack()
    try:
        value = loop.run_until_complete(stack.enter_async_context(coroutine_context))
        yield value, lambda coro: loop.run_until_complete(asyncio.wait_for(coro, 30))
    finally:
        loop.run_until_complete(stack.aclose())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def field_text() -> st.SearchStrategy[str]:
    """What a peer could write in an address field: the usual suspects, random text with
    SIP's separators and control characters, and real IP addresses."""
    alphabet = st.characters(codec="utf-8", exclude_characters="\r\n")
    return st.one_of(
        st.sampled_from(HOSTS),
        st.text(alphabet=st.sampled_from(list("0123456789abcdef.:[]%;=, \x00\x1b\x7f-")), max_size=24),
        st.text(alphabet=alphabet, max_size=12),
        st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
    )


def port_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(PORTS), st.integers(-10, 10**7).map(str))


@st.composite
def via_lines(draw) -> str:
    host, port = draw(field_text()), draw(port_text())
    line = f"SIP/2.0/UDP {host}{':' + port if port else ''};branch=z9hG4bK{draw(st.integers(0, 10**9))}"
    for name in draw(st.lists(st.sampled_from(["received", "rport", "maddr", "rport="]), max_size=3)):
        if name == "rport":
            line += ";rport"
        elif name == "rport=":
            line += f";rport={draw(port_text())}"
        else:
            line += f";{name}={draw(field_text())}"
    return line


@st.composite
def contacts(draw) -> str:
    host, port = draw(field_text()), draw(port_text())
    transport = draw(st.sampled_from(["", ";transport=tcp", ";transport=udp", ";maddr=192.0.2.1"]))
    return f"<sip:caller@{host}{':' + port if port else ''}{transport}>"


def assert_stayed_on_loopback(wire) -> None:
    assert wire.off_loopback() == [], wire.off_loopback()[:5]
    assert wire.names_looked_up() == [], wire.names_looked_up()[:5]


def test_generated_reply_addresses_never_leave_loopback_nor_stop_the_listener(tmp_path):
    with recorded_wire() as wire, running(routed_bridge(tmp_path, wire)) as ((bridge, lk, clock), run):
        sender, replies, local = run(udp_client(wire))

        async def one(via: str, contact: str, transport: str) -> None:
            data = options(via.replace("SIP/2.0/UDP", f"SIP/2.0/{transport.upper()}"), contact=contact)
            if transport == "udp":
                sender.sendto(data, bridge.udp_address)
                await udp_probe_answered(sender, replies, local, bridge.udp_address)
                replies.received.clear()
            else:
                await tcp_probe_answered(bridge.tcp_address, before=data)

        @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
        @given(via=via_lines(), contact=contacts(), transport=st.sampled_from(["udp", "tcp"]))
        def check(via, contact, transport):
            run(one(via, contact, transport))
            assert not bridge.sip._udp_transport.is_closing()
            assert_stayed_on_loopback(wire)

        try:
            check()
            clock.advance(64 * T1 + T4)  # every transaction of the examples ends
            run(call_completes(bridge, lk, "udp", wire))
            run(call_completes(bridge, lk, "tcp", wire))
            assert bridge.sip.failed == 0
        finally:
            sender.close()
    assert_stayed_on_loopback(wire)


def test_generated_contacts_never_take_an_in_dialog_request_off_loopback(tmp_path):
    """A call is answered with a generated Contact; the bridge hangs up (the API removed the
    participant) and its BYE goes to that Contact only if it is a loopback IP literal."""
    with recorded_wire() as wire, running(routed_bridge(tmp_path, wire)) as ((bridge, lk, clock), run):
        peer_context = Agent()
        peer = run(peer_context.__aenter__())
        wire.reachable.update({peer.transport.local, peer.media.address})

        async def one(contact: str) -> None:
            await bridge_bye_to(bridge, lk, clock, peer, contact)

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        @given(contact=contacts())
        def check(contact):
            run(one(contact))
            assert_stayed_on_loopback(wire)

        try:
            check()
            run(call_completes(bridge, lk, "udp", wire))
            assert bridge.sip.failed == 0
        finally:
            run(peer_context.__aexit__(None, None, None))
    assert_stayed_on_loopback(wire)


# -- the fuzz -----------------------------------------------------------------------------------

def mutate_addresses(rng: random.Random, data: bytes) -> bytes:
    """A stored message with hostile values in its top Via and Contact."""
    text = data.decode("utf-8", "surrogateescape")
    head, sep, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    host, port = rng.choice(HOSTS), rng.choice(PORTS)
    sent_by = f"{host}:{port}" if port else host
    params = "".join(rng.sample([f";rport={rng.choice(PORTS)}", ";rport", f";received={rng.choice(HOSTS)}",
                                 f";maddr={rng.choice(HOSTS)}"], rng.randint(0, 3)))
    for index, line in enumerate(lines):
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "v"):
            lines[index] = f"Via: SIP/2.0/UDP {sent_by};branch=z9hG4bK{rng.getrandbits(32)}{params}"
            break
    for index, line in enumerate(lines):
        if line.split(":", 1)[0].strip().lower() in ("contact", "m"):
            lines[index] = f"Contact: <sip:x@{rng.choice(HOSTS)}:{rng.choice(PORTS)}>"
    return ("\r\n".join(lines) + sep + body).encode("utf-8", "surrogateescape")


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    choice = rng.randrange(4)
    if choice == 0:
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif choice == 1:
        del buf[rng.randrange(len(buf)):]
    elif choice == 2:
        pos = rng.randrange(len(buf))
        buf[pos:pos] = rng.choice([b":", b"\r\n", b"\x00", b";;", b"[", b"%", b";maddr=", b";rport="]) * rng.randint(1, 9)
    else:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
    return bytes(buf)


def fuzzed(rng: random.Random, count: int):
    for _ in range(count):
        data = mutate_addresses(rng, rng.choice(GOOD))
        yield mutate_bytes(rng, data) if rng.random() < 0.3 else data


def test_fuzzed_datagrams_stay_on_loopback_and_log_a_bounded_amount(tmp_path, caplog):
    """`FUZZED` datagrams in batches of 100, each batch followed by a probe; the injected
    clock moves one second per 1,000 datagrams, so the warning budget (5 lines per kind per
    second) bounds the log whatever the count."""
    caplog.set_level(logging.WARNING, "sipconf.bridge")
    rng = random.Random(int(os.environ.get("SIPCONF_FUZZ_SEED", "5060")))
    seconds = FUZZED // 1000

    async def main(wire) -> None:
        async with routed_bridge(tmp_path, wire) as (bridge, lk, clock):
            sender, replies, local = await udp_client(wire)
            try:
                batch = []
                for n, data in enumerate(fuzzed(rng, FUZZED), 1):
                    batch.append(data)
                    if len(batch) == 100:
                        for datagram in batch:
                            sender.sendto(datagram, bridge.udp_address)
                        batch.clear()
                        await udp_probe_answered(sender, replies, local, bridge.udp_address)
                        replies.received.clear()
                    if n % 1000 == 0:
                        clock.advance(1.0)
                assert not bridge.sip._udp_transport.is_closing()
                await call_completes(bridge, lk, "udp", wire)
                await call_completes(bridge, lk, "tcp", wire)
                assert bridge.sip.dropped + bridge.sip.rejected > 0  # the fuzz did reach the parser
            finally:
                sender.close()

    with recorded_wire() as wire:
        asyncio.run(main(wire))
    assert_stayed_on_loopback(wire)
    kinds = {"malformed", "unsendable", "failed", "unusable", "oversize"}
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) <= len(kinds) * 5 * (seconds + 2)
    assert sum(len(r.getMessage()) for r in warnings) <= 400 * len(kinds) * 5 * (seconds + 2)
    assert all(r.getMessage().isprintable() for r in warnings)
