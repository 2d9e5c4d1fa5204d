"""Generated specs of any size for the apply-at-scale tests and the apply benchmark.

`scale_spec(numbers)`: numbers/10 inbound trunks of 10 numbers each (`per_trunk`), every trunk
with an address allowlist and a header mapping, and 2 dispatch rules per trunk (one per half
of its numbers): `numbers` numbers make 0.3 x numbers objects. The first trunk has a digest
password, `{env: SCALE_TRUNK_PASSWORD}`.

`variant=k` edits it as people do: every k-th trunk's last number moves to the next trunk
(with `per_trunk` of 4 or more) and its allowlist changes, every 7th rule gets another room,
and the last trunk with its two rules is replaced by a new one: updates, deletes and creates
in one plan.
"""

from __future__ import annotations

PASSWORD_ENV = "SCALE_TRUNK_PASSWORD"
PASSWORD = "scale-pass-1"


def numbers_for_objects(objects: int, per_trunk: int = 10) -> int:
    """The `numbers` argument of `scale_spec` that makes at least `objects` objects."""
    return max(1, -(-objects // 3)) * per_trunk


def object_count(numbers: int, per_trunk: int = 10) -> int:
    return max(1, numbers // per_trunk) * 3


def scale_spec(numbers: int, *, per_trunk: int = 10, project: str = "scale", variant: int = 0) -> str:
    trunks = max(1, numbers // per_trunk)
    blocks = [[f"+1510{(t * per_trunk + i):07d}" for i in range(per_trunk)] for t in range(trunks)]
    names = [f"carrier-{t:04d}" for t in range(trunks)]
    allow = [f"127.{t // 250 % 250}.{t % 250 + 1}.0/24" for t in range(trunks)]
    if variant:
        for t in range(0, trunks - 1, variant):
            if per_trunk >= 4:
                blocks[t + 1].append(blocks[t].pop())  # a number moves to the next trunk
            allow[t] = allow[t].replace(".0/24", ".128/25")
        names[-1] = f"carrier-new-{variant}"
    lines = [f"version: 1\nproject: {project}\ntrunks:\n"]
    for t, (name, block) in enumerate(zip(names, blocks)):
        lines.append(
            f"  {name}:\n"
            f"    inbound:\n"
            f"      numbers: [{', '.join(repr(n) for n in block)}]\n"
            f"      allowed_addresses: [\"{allow[t]}\"]\n"
            f"      headers_to_attributes: {{X-Customer-Tier: customer.tier, X-Carrier: carrier.t{t}}}\n"
        )
        if t == 0:
            lines.append(f"      auth: {{username: scale, password: {{env: {PASSWORD_ENV}}}}}\n")
    lines.append("dispatch_rules:\n")
    for t, (name, block) in enumerate(zip(names, blocks)):
        middle = len(block) // 2
        for half, part in enumerate((block[:middle], block[middle:])):
            room = f"room-{t}-{half}" + (f"-v{variant}" if variant and (2 * t + half) % 7 == 0 else "")
            lines.append(
                f"  {name}-r{half}:\n"
                f"    trunks: [{name}]\n"
                f"    numbers: [{', '.join(repr(n) for n in part)}]\n"
                f"    direct: {{room: {room}}}\n"
            )
    return "".join(lines)
