"""The compiler's side of LiveKit: translation between the model and live objects, and the
adapter over `livekit-api` (the only code of the compiler that talks to the network).

Modules: `translate` (canonical form, names <-> ids, secrets), `ledger` (the ownership
ledger, see docs/ownership.md), `inventory` (live objects classified as owned or not),
`target` (which LiveKit and which credentials), `retry` (backoff policy), `adapter`
(reads and writes through the real client), `to_spec` (live objects -> spec YAML, for import).
"""
