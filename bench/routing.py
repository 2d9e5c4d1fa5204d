"""Routing decisions per second: the index against the literal engine, by spec size.

`python -m bench.routing` builds specs of 100, 1k, 10k and 100k called numbers: trunks of
10 numbers, each with a source allowlist (an IPv4 /24 and an IPv6 /48), and 2 dispatch rules
per trunk (a callee rule for half its numbers, a direct rule for the rest). Calls go to
random numbers of the spec from a source the trunk allows. Each engine routes calls for a
fixed time (`route`: trunk, auth, rule, evaluation and the participant's attributes):

- index: `RoutingIndex.route(call, mode)`, no trace (also over the same 50 calls repeated,
  which keeps the index's data in the CPU's caches: the difference is memory, not work);
- reference: `route(trunks, rules, call, mode)` with its trace (as the bridge calls it today);
- reference, no trace: the same with `with_trace=False`.

Before timing, every engine's answer to a sample of calls is checked equal. Figures go to
bench/routing_figures.md, with the index's profile at the smallest and largest sizes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from livekit.protocol import sip

from sipconf.routing.call import CallFacts
from sipconf.routing.index import RoutingIndex
from sipconf.routing.route import Mode, route

HERE = Path(__file__).resolve().parent
NUMBERS_PER_TRUNK = 10
HEADERS = (("X-Twilio-CallSid", "CA123"), ("User-Agent", "carrier/1.0"), ("X-Tier", "gold"))


@dataclass
class Spec:
    trunks: list[sip.SIPInboundTrunkInfo]
    rules: list[sip.SIPDispatchRuleInfo]
    calls: list[CallFacts]


def make_spec(numbers: int, calls: int, seed: int = 1) -> Spec:
    rng = random.Random(seed)
    trunks, rules, sources = [], [], []
    for n in range(numbers // NUMBERS_PER_TRUNK):
        trunk_id = f"ST_{n:06d}"
        dids = [f"+1{2000000000 + n * NUMBERS_PER_TRUNK + i}" for i in range(NUMBERS_PER_TRUNK)]
        high, low = divmod(n, 256)
        trunks.append(sip.SIPInboundTrunkInfo(
            sip_trunk_id=trunk_id, name=f"carrier {n}", numbers=dids,
            allowed_addresses=[f"10.{high}.{low}.0/24", f"2001:db8:{n:x}::/48"],
            headers_to_attributes={"X-Tier": "tier"},
        ))
        callee = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id=f"SDR_{n:06d}a", trunk_ids=[trunk_id],
                                         numbers=dids[: NUMBERS_PER_TRUNK // 2])
        callee.rule.dispatch_rule_callee.room_prefix = "callee"
        catch_all = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id=f"SDR_{n:06d}b", trunk_ids=[trunk_id])
        catch_all.rule.dispatch_rule_direct.room_name = f"room-{n}"
        rules += [callee, catch_all]
        sources.append((f"10.{high}.{low}", f"2001:db8:{n:x}::"))
    facts = []
    for k in range(calls):
        n = rng.randrange(len(trunks))
        v4, v6 = sources[n]
        src = f"{v4}.{rng.randrange(1, 255)}" if rng.random() < 0.8 else f"{v6}{rng.randrange(1, 65535):x}"
        facts.append(CallFacts(
            from_user=f"+1555{rng.randrange(10**7):07d}", to_user=rng.choice(trunks[n].numbers),
            from_host="carrier.example", src_ip=src, sip_call_id=f"SCL_{k}", call_id_full=f"{k}@carrier",
            from_tag=f"tag{k}", headers=HEADERS,
        ))
    return Spec(trunks, rules, facts)


ROUNDS = 10


@dataclass
class Engine:
    """One engine on one spec, timed in rounds: its best rate is kept.

    Rates are decisions per CPU second of this process, and the best round counts, because
    the machine is shared: time spent waiting for a core, or with caches flushed by another
    process, is not the engine's. Rounds of all engines and sizes alternate, so each sees the
    same share of the machine's load.
    """

    decide: Callable[[CallFacts], object]
    calls: list[CallFacts]
    chunk: int  # decisions between clock reads: a read costs about as much as a fast decision
    best: float = 0.0
    position: int = 0

    def run(self, seconds: float) -> None:
        done, start = 0, time.process_time()
        while True:
            for _ in range(self.chunk):
                self.decide(self.calls[self.position])
                self.position = (self.position + 1) % len(self.calls)
            done += self.chunk
            elapsed = time.process_time() - start
            if elapsed >= seconds:
                break
        self.best = max(self.best, done / elapsed)


def check_equal(spec: Spec, index: RoutingIndex, sample: int = 50) -> None:
    for facts in spec.calls[:sample]:
        want = route(spec.trunks, spec.rules, facts, Mode.EXPLICIT)
        quiet = route(spec.trunks, spec.rules, facts, Mode.EXPLICIT, with_trace=False)
        got = index.route(facts, Mode.EXPLICIT)
        for other in (got, quiet):
            if (other.value, other.error) != (want.value, want.error):
                raise SystemExit(f"the engines disagree on {facts}")
        if want.value.action != "accept":
            raise SystemExit(f"a benchmark call is not accepted: {want.value.reason} ({facts})")


@dataclass
class Row:
    numbers: int
    trunks: int
    rules: int
    build_seconds: float
    index: Engine
    index_hot: Engine  # the same 50 calls over and over: the index's data stays in the CPU's caches
    reference: Engine
    reference_quiet: Engine


def prepare(numbers: int) -> tuple[Row, RoutingIndex, Spec]:
    spec = make_spec(numbers, calls=20_000)
    start = time.process_time()
    index = RoutingIndex.build(spec.trunks, spec.rules)
    build = time.process_time() - start
    check_equal(spec, index)
    mode = Mode.EXPLICIT
    row = Row(
        numbers, len(spec.trunks), len(spec.rules), build,
        index=Engine(lambda c: index.route(c, mode), spec.calls, chunk=16),
        index_hot=Engine(lambda c: index.route(c, mode), spec.calls[:50], chunk=16),
        reference=Engine(lambda c: route(spec.trunks, spec.rules, c, mode), spec.calls, chunk=1),
        reference_quiet=Engine(
            lambda c: route(spec.trunks, spec.rules, c, mode, with_trace=False), spec.calls, chunk=1
        ),
    )
    return row, index, spec


def profile(index: RoutingIndex, spec: Spec, top: int = 14) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for facts in spec.calls:
        index.route(facts, Mode.EXPLICIT)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    lines = [line.replace(str(Path.cwd()) + "/", "") for line in out.getvalue().splitlines()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    return "\n".join(lines[start:]).rstrip()


def render(rows: list[Row], seconds: float, profiles: dict[int, str], calls: int, load: tuple[float, float]) -> str:
    first, last = rows[0], rows[-1]
    lines = [
        "# Routing benchmark",
        "",
        f"`python -m bench.routing` (Python {platform.python_version()}, {os.cpu_count()} cores, one process),",
        f"{seconds:g} CPU s per engine and size; rates are decisions per CPU second, best of {ROUNDS} rounds",
        "alternating over engines and sizes (the machine is shared).",
        f"Trunks of {NUMBERS_PER_TRUNK} numbers with a source allowlist (IPv4 /24, IPv6 /48),",
        "2 dispatch rules per trunk; calls to random numbers of the spec from allowed sources (80% IPv4).",
        "A decision is a whole `route`: trunk, auth, rule, evaluation, participant attributes.",
        "",
        "| numbers | trunks | rules | index build | index (no trace) | index, 50 calls repeated | reference (trace) "
        "| reference (no trace) | index ÷ reference |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.numbers:,} | {row.trunks:,} | {row.rules:,} | {row.build_seconds:.2f} s | {row.index.best:,.0f}/s "
            f"| {row.index_hot.best:,.0f}/s | {row.reference.best:,.0f}/s | {row.reference_quiet.best:,.0f}/s "
            f"| {row.index.best / row.reference.best:,.0f}× |"
        )
    lines += [
        "",
        f"Index at {last.numbers:,} numbers ÷ at {first.numbers:,}: {last.index.best / first.index.best:.2f} "
        f"(50 calls repeated: {last.index_hot.best / first.index_hot.best:.2f}).",
        f"Load average of the machine: {load[0]:.1f} at the start, {load[1]:.1f} at the end.",
        "",
    ]
    for numbers, profiled in profiles.items():
        lines += [
            f"## Index profile, {numbers:,} numbers ({calls:,} calls, cProfile, by own time)",
            "",
            "```",
            profiled,
            "```",
            "",
        ]
    return "\n".join(lines)


def figures(row: Row) -> dict:
    """A row's rates, decisions per CPU second, best round."""
    return {
        "numbers": row.numbers, "trunks": row.trunks, "rules": row.rules, "build_seconds": row.build_seconds,
        "index": row.index.best, "index_hot": row.index_hot.best,
        "reference": row.reference.best, "reference_quiet": row.reference_quiet.best,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.routing")
    parser.add_argument("--sizes", default="100,1000,10000,100000", help="called numbers per spec")
    parser.add_argument("--seconds", type=float, default=3.0, help="CPU time per engine and size")
    parser.add_argument("--out", default=str(HERE / "routing_figures.md"))
    parser.add_argument("--json", type=Path, help="also write the rates to this file (for python -m bench.scale)")
    args = parser.parse_args(argv)
    start_load = os.getloadavg()[0]
    rows, built = [], {}
    for numbers in (int(s) for s in args.sizes.split(",")):
        row, index, spec = prepare(numbers)
        rows.append(row)
        built[numbers] = index, spec
        print(f"{numbers:>7,} numbers: {row.trunks:,} trunks, {row.rules:,} rules, index built in "
              f"{row.build_seconds:.2f} s", flush=True)
    for _ in range(ROUNDS):
        for row in rows:
            for engine in (row.index, row.index_hot, row.reference, row.reference_quiet):
                engine.run(args.seconds / ROUNDS)
    for row in rows:
        print(f"{row.numbers:>7,} numbers: index {row.index.best:>9,.0f}/s  (50 calls repeated "
              f"{row.index_hot.best:>9,.0f}/s)  reference {row.reference.best:>9,.0f}/s"
              f"  reference (no trace) {row.reference_quiet.best:>9,.0f}/s")
    ends = dict.fromkeys((rows[0].numbers, rows[-1].numbers))
    profiles = {numbers: profile(*built[numbers]) for numbers in ends}
    load = (start_load, os.getloadavg()[0])
    Path(args.out).write_text(render(rows, args.seconds, profiles, len(built[rows[0].numbers][1].calls), load))
    if args.json:
        args.json.write_text(json.dumps({"rows": [figures(row) for row in rows], "load": load, "seconds": args.seconds}))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
