"""End to end with the real SIPp: its UAC calls the scripted callee behind the bridge's
SipServer (INVITE -> 100 -> 200 + SDP -> ACK -> BYE -> 200, and SIPp exits 0); a UAC made of
the bridge's transaction and dialog layers calls SIPp's UAS.
"""

from __future__ import annotations

import asyncio
import shutil
import socket

import pytest

from sipconf.bridge.clock import LoopClock
from sipconf.bridge.dialog import Dialog, new_tag
from sipconf.sip.message import Request, Response
from sipconf.sip.sdp import build_offer
from sipconf.bridge.transaction import TransactionManager, new_branch
from sipconf.bridge.transport import SipServer

from .conftest import served_callee

SIPP = shutil.which("sipp") or "/usr/bin/sipp"


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_sipp_uac_call_is_answered(transport: str, free_port, tmp_path) -> None:
    async def main() -> None:
        async with served_callee() as (server, callee):
            host, port = server.tcp_address if transport == "t1" else server.udp_address
            sip_port = free_port(socket.SOCK_STREAM if transport == "t1" else socket.SOCK_DGRAM)
            proc = await asyncio.create_subprocess_exec(
                SIPP, "-sn", "uac", "-m", "1", "-t", transport, "-i", "127.0.0.1",
                "-p", str(sip_port), "-cp", str(free_port()), "-mp", str(free_port()),
                "-d", "200", "-timeout", "20s", "-timeout_error", "-nostdin",
                f"{host}:{port}",
                cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
            assert callee.methods == ["INVITE", "ACK", "BYE"]
            assert callee.leg.ended.is_set()

    asyncio.run(main())


def test_uac_from_bridge_layers_calls_sipp_uas(free_port, tmp_path) -> None:
    """Client side: INVITE client transaction, 2xx ACK and BYE from the dialog, SIPp UAS."""
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sipp_port = free_port()
        proc = await asyncio.create_subprocess_exec(
            SIPP, "-sn", "uas", "-m", "1", "-i", "127.0.0.1", "-p", str(sipp_port),
            "-cp", str(free_port()), "-mp", str(free_port()), "-timeout", "20s", "-timeout_error", "-nostdin",
            cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        manager = TransactionManager(LoopClock())
        finals: dict[str, asyncio.Future[Response]] = {"INVITE": loop.create_future(), "BYE": loop.create_future()}

        def handle(message, source) -> None:
            if isinstance(message, Response):
                manager.receive_response(message)

        def on_response(response: Response) -> None:
            fut = finals[response.cseq.method]
            if response.status >= 200 and not fut.done():
                fut.set_result(response)

        async with SipServer(handle, tcp=False) as server:
            host, port = server.udp_address
            via = f"SIP/2.0/UDP {host}:{port}"
            remote = server.udp_source(("127.0.0.1", sipp_port))
            invite = Request(method="INVITE", uri=f"sip:service@127.0.0.1:{sipp_port}", headers=[
                ("Via", f"{via};branch={new_branch()}"), ("Max-Forwards", "70"),
                ("From", f"<sip:bridge@{host}>;tag={new_tag()}"), ("To", f"<sip:service@127.0.0.1:{sipp_port}>"),
                ("Call-ID", f"uac-{new_tag()}"), ("CSeq", "1 INVITE"), ("Contact", f"<sip:bridge@{host}:{port}>"),
            ])
            invite.set_body(bytes(build_offer("127.0.0.1", free_port())), "application/sdp")
            manager.send_request(invite, remote.send, False, on_response)
            ok = await asyncio.wait_for(finals["INVITE"], 10)
            assert ok.status == 200
            dialog = Dialog.from_uac(invite, ok)
            remote.send(dialog.create_ack(1, via))
            bye = dialog.create_request("BYE", via)
            manager.send_request(bye, remote.send, False, on_response)
            assert (await asyncio.wait_for(finals["BYE"], 10)).status == 200
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == 0, out.decode(errors="replace")[-2000:]

    asyncio.run(main())
