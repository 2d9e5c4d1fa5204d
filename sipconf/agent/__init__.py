"""One scripted SIP user agent, for the simulator, the conformance runner and the tests.

`Agent` owns a loopback transport (UDP or TCP, from any 127.0.0.0/8 address) and an RTP
socket. As a caller, `await agent.call(...)` places a call (`Call`); as a callee,
`agent.answer(Script(...))` answers calls (`Callee`); both answer requests inside a call
through the same `Leg` (BYE, REFER with a NOTIFY sipfrag, the rest). Tests that need every
message by hand use the agent's builders and waits instead of a role.

Of this project, only `sipconf.sip` is imported: the agent is the bridge's peer, never a
part of it.
"""

from sipconf.agent.agent import Agent
from sipconf.agent.callee import Callee, Script
from sipconf.agent.caller import Call
from sipconf.agent.leg import Leg
from sipconf.agent.media import Media, decode_digits, dtmf_packets
from sipconf.agent.transport import Tap, TcpTransport, Transport, UdpTransport, frame

__all__ = ["Agent", "Call", "Callee", "Leg", "Media", "Script", "Tap", "TcpTransport", "Transport", "UdpTransport",
           "decode_digits", "dtmf_packets", "frame"]
