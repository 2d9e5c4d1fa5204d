"""What one call's RTP socket costs to open and close, two ways, under uvloop.

    python -m bench.rtp_socket [N]

An asyncio datagram endpoint (`loop.create_datagram_endpoint(sock=...)`, what the bridge used
per call) against the bridge's own `UdpEndpoint` on the bound socket, read through
`loop.add_reader` (what `sipconf.bridge.media` does now). Prints microseconds per
open-and-close pair, N pairs each (default 5,000).
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time

import uvloop

from sipconf.bridge.udp import UdpEndpoint

async def _measure(n: int) -> tuple[float, float]:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    for _ in range(n):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, sock=sock)
        sock.getsockname()
        transport.close()
    await asyncio.sleep(0.1)  # the closes run on the loop
    endpoint = (time.perf_counter() - started - 0.1) / n
    started = time.perf_counter()
    for _ in range(n):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        sock.getsockname()
        UdpEndpoint(loop, sock, lambda data, addr, queued: None, stamped=False).close()
    reader = (time.perf_counter() - started) / n
    return endpoint, reader


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 5000
    endpoint, reader = uvloop.run(_measure(n))
    print(f"datagram endpoint: {endpoint * 1e6:.1f} us per open and close")
    print(f"socket + add_reader: {reader * 1e6:.1f} us per open and close (UdpEndpoint)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
