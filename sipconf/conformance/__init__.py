"""Runs LiveKit's test vectors (tests/data/livekit-vectors.json; docs/livekit.md#test-vectors)
against sipconf.

Each kind lives in `sipconf.conformance.kinds.<module>` as a `KINDS` dict mapping a kind
name to a check function `check(vector) -> list[str]` that returns one mismatch line per
difference (empty when the vector passes). Modules are discovered, so adding a kind never
touches a shared file.
"""
