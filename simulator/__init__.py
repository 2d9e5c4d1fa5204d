"""The call-flow simulator: scenario files, drivers, assertions, reports, runner.

A scenario says how to place one call (inbound through the bridge, or outbound through
CreateSIPParticipant) and what LiveKit must end up with. Drivers place the call (SIPp,
scapy, or the routing engine in-process); every assertion reads the outcome through the
`livekit-api` client, never through the bridge's internals, so the same suite runs against
a remote LiveKit.
"""
