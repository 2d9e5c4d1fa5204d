"""The compiler's I/O with LiveKit: it reads and writes, and decides nothing.

Modules: `target` (which LiveKit, which credentials, where calls go), `adapter` (reads and
writes through the real `livekit-api` client: the only network code of the compiler),
`retry` (backoff policy), `live` (the state a read returns), `ledger` (the ownership
ledger's format and the trunk that stores it, see docs/ownership.md), `wire` (a model
message shaped as a request body). What the live state means (ownership, the diff, import)
is decided in sipconf.plan, which calls this package; this package never imports it.
"""
