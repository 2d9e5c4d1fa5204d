"""The pure LiveKit SIP routing engine.

No I/O, no asyncio, no logging. Every rule of LiveKit SIP's routing and validation lives
here once (see ../shared/livekit/SEMANTICS.md); the compiler's checks, the control plane,
the bridge, `sipconf explain` and the simulator all call it. Objects are the
`livekit.protocol.sip` protobuf messages, so what is validated is exactly what is sent.
"""
