"""SIP on the wire: messages, headers, URIs, SDP, RTP, RFC 4733 DTMF and digest auth.

Pure formats and computations only: no asyncio, no sockets, no logging. The bridge, the
scripted user agent (`sipconf.agent`), the simulator, the benchmarks and the tests all
import SIP from here.
"""
