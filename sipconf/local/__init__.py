"""The embedded LiveKit-compatible control plane (docs/livekit.md#control-plane-api).

An aiohttp server on 127.0.0.1 that the unmodified `livekit-api` client talks to over
Twirp: `livekit.SIP` (trunks, dispatch rules, calls) and a `livekit.RoomService` subset,
plus `sipconf.Local` (the apply lock). Trunks and rules persist in SQLite; rooms and
participants are live state. Validation is the pure engine in `sipconf.routing`.

Modules: `server` (ControlPlane, HTTP routing), `twirp` (wire encoding and errors),
`auth` (JWT and grants), `store` (SQLite), `rooms` (live rooms), `sip_service`,
`room_service`, `lock` (apply lock), `backend` (CallBackend protocol), `credentials`,
`bridge_adapter` (the SIP bridge's ports over all of the above), `health` (readiness and
metrics pages), `http_log` (one-line logs for requests aiohttp cannot parse).
"""
