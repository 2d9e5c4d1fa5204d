"""RFC 3261 18.2.1/18.2.2 and RFC 3581 over real UDP sockets: the server stamps the top Via
with `received`/`rport`, and sends responses where that Via says, not to the packet source."""

from __future__ import annotations

import asyncio

import pytest

from sipconf.sip.headers import Via
from sipconf.sip.message import Response, parse
from sipconf.bridge.transport import response_address, stamp_via

from .conftest import served_callee

GUARD = 5.0


class Socket(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[Response, tuple[str, int]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:
        self.queue.put_nowait((parse(data), addr))


async def bind(host: str = "127.0.0.1") -> tuple[asyncio.DatagramTransport, Socket, int]:
    transport, proto = await asyncio.get_running_loop().create_datagram_endpoint(Socket, local_addr=(host, 0))
    return transport, proto, transport.get_extra_info("sockname")[1]


def request(via: str, call_id: str, method: str = "OPTIONS") -> bytes:
    return (f"{method} sip:uas@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\n"
            f"To: <sip:uas@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n").encode()


def exchange(via_for, expect_at: str, expected_via) -> None:
    """Send from socket `sender` a request whose Via is `via_for(sender_port, other_port)`;
    the response must arrive at `expect_at` ("sender" or "other") and only there."""
    async def main() -> None:
        async with served_callee() as (server, _):
            sender_t, sender, sender_port = await bind()
            other_t, other, other_port = await bind()
            try:
                sender_t.sendto(request(via_for(sender_port, other_port), "v1"), server.udp_address)
                where = {"sender": sender, "other": other}
                response, source = await asyncio.wait_for(where[expect_at].queue.get(), GUARD)
                assert response.status == 200 and response.call_id == "v1"
                assert source == server.udp_address
                assert response.get("via") == expected_via(sender_port, other_port)
                # a second request proves the other socket got nothing in between
                second = via_for(sender_port, other_port).replace("branch=z9hG4bK", "branch=z9hG4bK2")
                sender_t.sendto(request(second, "v2"), server.udp_address)
                response, _ = await asyncio.wait_for(where[expect_at].queue.get(), GUARD)
                assert response.call_id == "v2"
                silent = other if expect_at == "sender" else sender
                assert silent.queue.empty()
            finally:
                sender_t.close()
                other_t.close()

    asyncio.run(main())


def test_without_rport_the_response_goes_to_the_via_sent_by_port():
    exchange(lambda s, o: f"SIP/2.0/UDP 127.0.0.1:{o};branch=z9hG4bKa", "other",
             lambda s, o: f"SIP/2.0/UDP 127.0.0.1:{o};branch=z9hG4bKa")


def test_rport_sends_the_response_back_to_the_source_port_and_is_filled_in():
    exchange(lambda s, o: f"SIP/2.0/UDP 127.0.0.1:{o};branch=z9hG4bKb;rport", "sender",
             lambda s, o: f"SIP/2.0/UDP 127.0.0.1:{o};branch=z9hG4bKb;rport={s};received=127.0.0.1")


def test_sent_by_host_unlike_the_source_gets_received_and_the_response_goes_there():
    exchange(lambda s, o: f"SIP/2.0/UDP 127.0.0.9:{o};branch=z9hG4bKc", "other",
             lambda s, o: f"SIP/2.0/UDP 127.0.0.9:{o};branch=z9hG4bKc;received=127.0.0.1")


def test_a_400_to_a_malformed_request_follows_the_same_rules():
    async def main() -> None:
        async with served_callee() as (server, _):
            sender_t, sender, sender_port = await bind()
            other_t, other, other_port = await bind()
            try:
                bad = request(f"SIP/2.0/UDP 127.0.0.1:{other_port};branch=z9hG4bKd", "v3")
                sender_t.sendto(bad.replace(b"Content-Length: 0", b"Content-Length: x"), server.udp_address)
                response, _ = await asyncio.wait_for(other.queue.get(), GUARD)
                assert response.status == 400 and response.call_id == "v3"
                assert sender.queue.empty()
            finally:
                sender_t.close()
                other_t.close()

    asyncio.run(main())


@pytest.mark.parametrize(("via", "source", "stamped", "address"), [
    ("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1", ("127.0.0.1", 4000),
     "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1", ("127.0.0.1", 5070)),
    ("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1", ("127.0.0.1", 4000),
     "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1", ("127.0.0.1", 5060)),
    ("SIP/2.0/UDP client.test:5070;branch=z9hG4bK1", ("127.0.0.2", 4000),
     "SIP/2.0/UDP client.test:5070;branch=z9hG4bK1;received=127.0.0.2", ("127.0.0.2", 5070)),
    ("SIP/2.0/UDP client.test;rport;branch=z9hG4bK1", ("127.0.0.2", 4000),
     "SIP/2.0/UDP client.test;rport=4000;branch=z9hG4bK1;received=127.0.0.2", ("127.0.0.2", 4000)),
    # RFC 3581 4: received is added even when the host matches, once rport is asked for
    ("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport", ("127.0.0.1", 4000),
     "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport=4000;received=127.0.0.1", ("127.0.0.1", 4000)),
    # a forged received is replaced by what we saw
    ("SIP/2.0/UDP h.test:5070;received=127.0.0.66;branch=z9hG4bK1", ("127.0.0.3", 4000),
     "SIP/2.0/UDP h.test:5070;branch=z9hG4bK1;received=127.0.0.3", ("127.0.0.3", 5070)),
    # RFC 3261 18.2.2: maddr wins
    ("SIP/2.0/UDP 127.0.0.1:5070;maddr=127.0.0.7;branch=z9hG4bK1", ("127.0.0.1", 4000),
     "SIP/2.0/UDP 127.0.0.1:5070;maddr=127.0.0.7;branch=z9hG4bK1", ("127.0.0.7", 5070)),
])
def test_stamp_via_and_response_address(via, source, stamped, address):
    headers = [("Via", via), ("CSeq", "1 OPTIONS")]
    top = stamp_via(headers, source)
    assert headers == [("Via", stamped), ("CSeq", "1 OPTIONS")]
    assert str(top) == stamped
    assert response_address(top) == address


def test_only_the_top_via_of_a_combined_line_is_stamped():
    headers = [("v", "SIP/2.0/UDP a.test;rport;branch=z9hG4bK2, SIP/2.0/UDP proxy.test;branch=z9hG4bK1"),
               ("Via", "SIP/2.0/UDP b.test;branch=z9hG4bK0")]
    stamp_via(headers, ("127.0.0.4", 6000))
    assert headers == [
        ("v", "SIP/2.0/UDP a.test;rport=6000;branch=z9hG4bK2;received=127.0.0.4, SIP/2.0/UDP proxy.test;branch=z9hG4bK1"),
        ("Via", "SIP/2.0/UDP b.test;branch=z9hG4bK0"),
    ]


def test_unparseable_or_missing_via_is_left_alone():
    headers = [("Via", "garbage")]
    assert stamp_via(headers, ("127.0.0.1", 1)) is None and headers == [("Via", "garbage")]
    assert stamp_via([("To", "<sip:a@b>")], ("127.0.0.1", 1)) is None
    assert response_address(Via.parse("SIP/2.0/UDP [::1]:5071;received=::1;rport=9")) == ("::1", 9)
