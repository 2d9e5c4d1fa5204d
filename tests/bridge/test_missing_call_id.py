"""docs/livekit.md#inbound-inputs over real sockets: a request without Call-ID (or an INVITE without
a From tag) is answered `400` when it still has a Via and a CSeq to answer with; a request that
cannot be answered (no CSeq) is dropped. UDP and TCP, against the real bridge."""

from __future__ import annotations

import asyncio
import re

from sipconf.sip.message import Response, parse
from sipconf.bridge.server import Bridge
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane

GUARD = 5.0
KEY = "testkey"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123"


def request(method: str, transport: str, *, call_id: str | None, from_tag: str = ";tag=ft",
            cseq: bool = True, branch: str = "z9hG4bKnocid") -> bytes:
    rport = ";rport" if transport == "UDP" else ""
    lines = [f"{method} sip:+15550100@127.0.0.1 SIP/2.0",
             f"Via: SIP/2.0/{transport} 127.0.0.1:5999;branch={branch}{rport}",
             "Max-Forwards: 70",
             f"From: <sip:+15550111@127.0.0.1>{from_tag}",
             "To: <sip:+15550100@127.0.0.1>"]
    if call_id is not None:
        lines.append(f"Call-ID: {call_id}")
    if cseq:
        lines.append(f"CSeq: 1 {method}")
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def serve(scenario):
    async def main(tmp):
        async with ControlPlane(state_path=tmp, api_key=KEY, api_secret=SECRET) as cp:
            async with Bridge(bridge_ports(cp)) as bridge:
                await asyncio.wait_for(scenario(bridge), 15)

    return main


class _Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:
        self.queue.put_nowait(data)


async def read_tcp(reader: asyncio.StreamReader) -> Response:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), GUARD)
    length = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
    body = await reader.readexactly(int(length.group(1)) if length else 0)
    return parse(head + body)


def assert_bad_request(response: Response, method: str) -> None:
    assert response.status == 400
    assert response.get("call-id") is None  # nothing to copy: what a real stack sends
    assert response.get("cseq") == f"1 {method}"
    assert response.get("via").startswith("SIP/2.0/")


def test_udp_invite_and_options_without_call_id_get_400_and_an_unanswerable_one_is_dropped(tmp_path):
    async def scenario(bridge):
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(_Udp, remote_addr=bridge.udp_address)
        try:
            for method in ("INVITE", "OPTIONS"):
                transport.sendto(request(method, "UDP", call_id=None, branch=f"z9hG4bK{method}"))
                assert_bad_request(parse(await asyncio.wait_for(client.queue.get(), GUARD)), method)
            # No CSeq: nothing to answer with -> dropped; the next request still gets its answer.
            transport.sendto(request("INVITE", "UDP", call_id=None, cseq=False, branch="z9hG4bKdrop"))
            transport.sendto(request("OPTIONS", "UDP", call_id="after", branch="z9hG4bKafter"))
            after = parse(await asyncio.wait_for(client.queue.get(), GUARD))
            assert (after.status, after.call_id) == (200, "after")
            assert (bridge.sip.rejected, bridge.sip.dropped) == (2, 1)
            # docs/livekit.md#inbound-inputs: a From without tag -> LiveKit's `400 Bad request` from
            # the call logic.
            transport.sendto(request("INVITE", "UDP", call_id="no-tag", from_tag="", branch="z9hG4bKnotag"))
            no_tag = parse(await asyncio.wait_for(client.queue.get(), GUARD))
            assert (no_tag.status, no_tag.reason, no_tag.call_id) == (400, "Bad request", "no-tag")
        finally:
            transport.close()

    asyncio.run(serve(scenario)(tmp_path / "s.db"))


def test_tcp_invite_and_options_without_call_id_get_400_on_the_same_connection(tmp_path):
    async def scenario(bridge):
        reader, writer = await asyncio.open_connection(*bridge.tcp_address)
        try:
            for method in ("INVITE", "OPTIONS"):
                writer.write(request(method, "TCP", call_id=None, branch=f"z9hG4bK{method}"))
                await writer.drain()
                assert_bad_request(await read_tcp(reader), method)
            writer.write(request("OPTIONS", "TCP", call_id="tcp-after", branch="z9hG4bKafter"))
            await writer.drain()
            after = await read_tcp(reader)
            assert (after.status, after.call_id) == (200, "tcp-after")
            assert bridge.sip.dropped == 0
        finally:
            writer.close()

    asyncio.run(serve(scenario)(tmp_path / "s.db"))
