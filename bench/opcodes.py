"""The bridge's work per call, counted in Python bytecodes: a profile other load cannot blur.

    python -m bench.opcodes [--calls N] [--top K]
    python -m bench.opcodes --gc [--calls N] [--thresholds A,B,C]

Runs the real `Bridge` with the embedded control plane in this process (an open trunk and a
direct rule applied with the real `livekit-api` client), and N calls over real UDP on
127.0.0.1 from a bare client socket: INVITE -> 200 -> ACK -> BYE -> 200. While the calls run,
`sys.settrace` counts every bytecode the interpreter executes, by function. Wall-clock and
CPU-time figures swing with whatever else shares the machine; a bytecode count does not (it
leaves out time spent in C: sockets, regular expressions, SQLite, protobuf). The asyncio
loop's own Python code is counted too, which uvloop (the loop of `sipconf up`) runs in C.

`--gc` counts nothing and times the cyclic garbage collector instead (`gc.callbacks`): its
time per call and its longest pause per generation, with the collector's thresholds as given
(Python's default, or those of `sipconf up`). The bridge runs on a manual clock here, so its
finished transactions never end: their population grows with the calls, as it does for the
64*T1 they linger under real load.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import re
import socket
import sys
import tempfile
import time
from pathlib import Path

from livekit import api
from livekit.protocol import sip as sip_pb

from sipconf.bridge.clock import ManualClock
from sipconf.bridge.server import Bridge
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane

KEY, SECRET = "bench", "bench-secret-that-is-long-enough-for-hs256-0123456789"
NUMBER = "+15550100"
SDP = ("v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio {media} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
# The messages of SIPp's built-in `uac`, as it writes them.
HEAD = ("{method} sip:{number}@{host}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-{call}-{n}\r\n"
        "From: sipp <sip:sipp@127.0.0.1:{local}>;tag={call}SIPpTag00\r\nTo: {number} <sip:{number}@{host}:{port}>{tag}\r\n"
        "Call-ID: {call}-bench@127.0.0.1\r\nCSeq: {cseq} {method}\r\nContact: sip:sipp@127.0.0.1:{local}\r\n"
        "Max-Forwards: 70\r\nSubject: Performance Test\r\n")


class Collector:
    """Times every run of the cyclic garbage collector."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {}
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.setdefault(info["generation"], []).append(time.perf_counter() - self._started)


class Counter:
    def __init__(self) -> None:
        self.by_function: collections.Counter[str] = collections.Counter()
        self.total = 0

    def trace(self, frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            self.by_function[f"{code.co_filename.rsplit('/', 2)[-2:][-1]}:{code.co_name}"] += 1
            self.total += 1
        return self.trace


async def run(calls: int, counter: Counter | None, tmp: Path) -> None:
    async with ControlPlane(state_path=tmp / "state.db", api_key=KEY, api_secret=SECRET) as cp, \
            Bridge(bridge_ports(cp), clock=ManualClock()) as bridge, api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
        await lk.sip.create_inbound_trunk(sip_pb.CreateSIPInboundTrunkRequest(
            trunk=sip_pb.SIPInboundTrunkInfo(name="bench", numbers=[NUMBER])))
        await lk.sip.create_dispatch_rule(sip_pb.CreateSIPDispatchRuleRequest(rule=sip_pb.SIPDispatchRule(
            dispatch_rule_direct=sip_pb.SIPDispatchRuleDirect(room_name="bench"))))
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as media:
            sock.bind(("127.0.0.1", 0))
            media.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            host, port = bridge.udp_address
            fields = dict(number=NUMBER, host=host, port=port, local=sock.getsockname()[1])

            async def final(method: str) -> str:
                while True:
                    text = (await loop.sock_recv(sock, 65535)).decode()
                    cseq = re.search(r"^CSeq: *\d+ (\w+)", text, re.M)
                    if not text.startswith("SIP/2.0 1") and cseq and cseq.group(1) == method:
                        return text

            async def one(call: int) -> None:
                body = SDP.format(media=media.getsockname()[1])
                invite = HEAD.format(method="INVITE", call=call, n=0, tag="", cseq=1, **fields)
                invite += f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}"
                sock.sendto(invite.encode(), (host, port))
                answer = await final("INVITE")
                tag = ";tag=" + re.search(r"^To:.*;tag=([^;\r\n]+)", answer, re.M).group(1)
                for n, method, cseq in ((1, "ACK", 1), (2, "BYE", 2)):
                    message = HEAD.format(method=method, call=call, n=n, tag=tag, cseq=cseq, **fields)
                    sock.sendto((message + "Content-Length: 0\r\n\r\n").encode(), (host, port))
                await final("BYE")

            for call in range(3):  # warm-up: the routing index, caches
                await one(10_000 + call)
            if counter is not None:
                sys.settrace(counter.trace)
            try:
                for call in range(calls):
                    await one(call)
                await asyncio.sleep(0.01)
            finally:
                sys.settrace(None)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.opcodes", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--gc", action="store_true", help="time the garbage collector instead")
    parser.add_argument("--thresholds", help="the collector's thresholds, e.g. 5000,5,10 (default: Python's)")
    args = parser.parse_args(argv)
    if args.gc:
        return _collector(args)
    counter = Counter()
    with tempfile.TemporaryDirectory(prefix="sipconf-opcodes-") as tmp:
        asyncio.run(run(args.calls, counter, Path(tmp)))
    print(f"bytecodes per call: {counter.total / args.calls:,.0f} ({args.calls} calls)")
    files: collections.Counter[str] = collections.Counter()
    for name, count in counter.by_function.items():
        files[name.split(":")[0]] += count
    print("by file: " + ", ".join(f"{name} {count / args.calls:,.0f}" for name, count in files.most_common(12)))
    for name, count in counter.by_function.most_common(args.top):
        print(f"{count / args.calls:8,.0f}  {name}")
    return 0


def _collector(args: argparse.Namespace) -> int:
    if args.thresholds:
        gc.set_threshold(*(int(value) for value in args.thresholds.split(",")))
    gc.collect()
    gc.freeze()  # what the imports built, as `sipconf up` freezes it
    collector = Collector()
    gc.callbacks.append(collector)
    try:
        with tempfile.TemporaryDirectory(prefix="sipconf-opcodes-") as tmp:
            asyncio.run(run(args.calls, None, Path(tmp)))
    finally:
        gc.callbacks.remove(collector)
        gc.unfreeze()
    total = sum(sum(pauses) for pauses in collector.pauses.values())
    print(f"collector: {total / args.calls * 1e6:,.0f} us per call over {args.calls} calls, thresholds"
          f" {','.join(str(t) for t in gc.get_threshold())}")
    for generation, pauses in sorted(collector.pauses.items()):
        print(f"generation {generation}: {len(pauses)} collections, longest {max(pauses) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
