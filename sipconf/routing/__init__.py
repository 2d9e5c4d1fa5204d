"""The pure LiveKit SIP routing engine: which trunk, which dispatch rule, which room.

No I/O, no asyncio, no logging. Calls, trunk matching, rule selection and evaluation,
attributes, masks and numbers live here once (docs/livekit.md); the compiler's checks, the
bridge, `sipconf explain` and the simulator all call it. Objects are the
`livekit.protocol.sip` protobuf messages, so what is routed is exactly what is stored.
"""
