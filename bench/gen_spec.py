"""A valid spec of a given size, for compiler benchmarks and tests.

    python -m bench.gen_spec 10000 > /tmp/spec-10k.yaml

N numbers become N/10 inbound trunks of 10 numbers each; each trunk has an allowlist (one
loopback /24 of its own) and a header mapping, and two dispatch rules: an individual rule on
the first half of its numbers and a callee rule on the second half. Numbers are distinct
E.164 numbers, so the spec loads and checks clean.
"""

from __future__ import annotations

import argparse
import sys

NUMBERS_PER_TRUNK = 10
FIRST_NUMBER = 15_100_000_000  # +1 510 000 0000: room for 10 million numbers of one width


def number(index: int) -> str:
    return f"+{FIRST_NUMBER + index}"


def allowlist(trunk: int) -> str:
    """A loopback /24 per trunk (127.0.0.0/8 holds 65,536 of them)."""
    return f"127.{(trunk >> 8) & 255}.{trunk & 255}.0/24"


def _flow(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def spec_text(numbers: int, *, project: str = "bench") -> str:
    """The spec YAML for `numbers` numbers (rounded up to a whole trunk)."""
    trunks = max(1, -(-numbers // NUMBERS_PER_TRUNK))
    if trunks > 65_536:
        raise ValueError(f"{numbers} numbers need more than 65,536 loopback /24 allowlists")
    half = NUMBERS_PER_TRUNK // 2
    out = ["version: 1", f"project: {project}", "trunks:"]
    for trunk in range(trunks):
        own = [number(trunk * NUMBERS_PER_TRUNK + i) for i in range(NUMBERS_PER_TRUNK)]
        out += [
            f"  t{trunk}:",
            "    inbound:",
            f"      numbers: {_flow(own)}",
            f'      allowed_addresses: ["{allowlist(trunk)}"]',
            "      headers_to_attributes: {X-Customer-Tier: customer.tier}",
        ]
    out.append("dispatch_rules:")
    for trunk in range(trunks):
        own = [number(trunk * NUMBERS_PER_TRUNK + i) for i in range(NUMBERS_PER_TRUNK)]
        out += [
            f"  t{trunk}-caller:",
            f"    trunks: [t{trunk}]",
            f"    numbers: {_flow(own[:half])}",
            f"    individual: {{room_prefix: caller-{trunk}}}",
            f"  t{trunk}-line:",
            f"    trunks: [t{trunk}]",
            f"    numbers: {_flow(own[half:])}",
            f"    callee: {{room_prefix: line-{trunk}}}",
        ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gen_spec", description=__doc__.splitlines()[0])
    parser.add_argument("numbers", type=int, help="how many numbers (N/10 inbound trunks, 2 rules each)")
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    args = parser.parse_args(argv)
    if args.numbers < 1:
        parser.error("numbers must be at least 1")
    text = spec_text(args.numbers)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
