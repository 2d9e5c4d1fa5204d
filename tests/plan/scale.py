"""Generated specs of any size for the apply-at-scale tests and the apply benchmark.

`scale_spec(numbers)`: numbers/10 inbound trunks of 10 numbers each, every trunk with an
address allowlist and a header mapping, and 2 dispatch rules per trunk (one per half of its
numbers), so `numbers` numbers make 0.3 x numbers objects. `variant` changes the spec the way
a real edit does: every `variant`-th trunk loses its last number to the next trunk, some
rules change room, the last trunk and its rules go and a new one comes.
"""

from __future__ import annotations

PASSWORD_ENV = "SCALE_TRUNK_PASSWORD"


def numbers_for_objects(objects: int) -> int:
    """The `numbers` argument of `scale_spec` that makes about `objects` objects."""
    return max(1, -(-objects // 3)) * 10


def scale_spec(numbers: int, *, project: str = "scale", variant: int = 0) -> str:
    trunks = max(1, numbers // 10)
    blocks = [[f"+1510{(t * 10 + i):07d}" for i in range(10)] for t in range(trunks)]
    names = [f"carrier-{t:04d}" for t in range(trunks)]
    if variant:
        for t in range(0, trunks - 1, variant):
            blocks[t + 1].append(blocks[t].pop())  # a number moves to the next trunk
        names[-1] = f"carrier-new-{variant}"
    lines = [f"version: 1\nproject: {project}\ntrunks:\n"]
    for t, (name, block) in enumerate(zip(names, blocks)):
        lines.append(
            f"  {name}:\n"
            f"    inbound:\n"
            f"      numbers: [{', '.join(repr(n) for n in block)}]\n"
            f"      allowed_addresses: [\"127.0.{t // 250}.{t % 250 + 1}/32\"]\n"
            f"      headers_to_attributes: {{X-Customer-Tier: customer.tier, X-Carrier: carrier.t{t}}}\n"
        )
        if t == 0:
            lines.append(f"      auth: {{username: scale, password: {{env: {PASSWORD_ENV}}}}}\n")
    lines.append("dispatch_rules:\n")
    for t, (name, block) in enumerate(zip(names, blocks)):
        halves = (block[:5], block[5:])
        for half, part in enumerate(halves):
            room = f"room-{t}-{half}" + (f"-v{variant}" if variant and t % 7 == 0 else "")
            lines.append(
                f"  {name}-r{half}:\n"
                f"    trunks: [{name}]\n"
                f"    numbers: [{', '.join(repr(n) for n in part)}]\n"
                f"    direct: {{room: {room}}}\n"
            )
    return "".join(lines)


def object_count(numbers: int) -> int:
    return max(1, numbers // 10) * 3
