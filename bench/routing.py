"""Routing decisions per second: the index against the literal engine, by spec size.

`python -m bench.routing` builds specs of 100, 1k, 10k and 100k called numbers: trunks of
10 numbers, each with a source allowlist (an IPv4 /24 and an IPv6 /48), and 2 dispatch rules
per trunk (a callee rule for half its numbers, a direct rule for the rest). Each call goes to
a number of the spec drawn uniformly at random (as the differential test aims at the spec's
numbers), from a random caller and a source its trunk allows; 20,000 such calls are routed
over and over, so at 100k numbers they reach a fifth of the numbers and nothing favours a few.
Each engine routes calls for a fixed time (`route`: trunk, auth, rule, evaluation and the
participant's attributes):

- index: `RoutingIndex.route(call, mode)`, no trace (also over the same 50 calls repeated,
  which keeps the index's data in the CPU's caches: the difference is memory, not work);
- reference: `route(trunks, rules, call, mode)` with its trace (the literal engine, as
  `explain` wrote it before the index);
- reference, no trace: the same with `with_trace=False`.

Before timing, every engine's answer to a sample of calls is checked equal. The whole
measurement is repeated (`--repeat`, the machine is shared): each figure is the median of
the repetitions' best rates, with their range. The index's size is what `tracemalloc` sees
allocated by `RoutingIndex.build` and still held. Figures go to bench/routing_figures.md,
with the index's profile at the smallest and largest sizes.
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
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
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
        number = rng.randrange(len(trunks) * NUMBERS_PER_TRUNK)  # uniform over the spec's numbers
        n = number // NUMBERS_PER_TRUNK
        v4, v6 = sources[n]
        src = f"{v4}.{rng.randrange(1, 255)}" if rng.random() < 0.8 else f"{v6}{rng.randrange(1, 65535):x}"
        facts.append(CallFacts(
            from_user=f"+1555{rng.randrange(10**7):07d}", to_user=trunks[n].numbers[number % NUMBERS_PER_TRUNK],
            from_host="carrier.example", src_ip=src, sip_call_id=f"SCL_{k}", call_id_full=f"{k}@carrier",
            from_tag=f"tag{k}", headers=HEADERS,
        ))
    return Spec(trunks, rules, facts)


ROUNDS = 10


@dataclass
class Engine:
    """One engine on one spec, timed in rounds: the best rate of each repetition is kept.

    Rates are decisions per CPU second of this process, and the best round counts, because
    the machine is shared: time spent waiting for a core, or with caches flushed by another
    process, is not the engine's. Rounds of all engines and sizes alternate, so each sees the
    same share of the machine's load.
    """

    decide: Callable[[CallFacts], object]
    calls: list[CallFacts]
    chunk: int  # decisions between clock reads: a read costs about as much as a fast decision
    round_best: float = 0.0  # of the repetition under way
    position: int = 0
    bests: list[float] = field(default_factory=list)  # one per finished repetition

    def repetition_done(self) -> None:
        self.bests.append(self.round_best)
        self.round_best = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.bests)

    @property
    def best(self) -> float:
        """The engine's figure: the median of the finished repetitions' best rounds."""
        return self.median if self.bests else self.round_best

    def figure(self) -> str:
        """The median rate, with the range when there were several repetitions."""
        if len(self.bests) < 2:
            return f"{self.median:,.0f}/s"
        return f"{self.median:,.0f}/s ({min(self.bests):,.0f}–{max(self.bests):,.0f})"

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
        self.round_best = max(self.round_best, done / elapsed)


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
    index_bytes: int
    index: Engine
    index_hot: Engine  # the same 50 calls over and over: the index's data stays in the CPU's caches
    reference: Engine
    reference_quiet: Engine


def index_size(spec: Spec) -> int:
    """Bytes allocated by building the index (and its first decisions) that it still holds."""
    tracemalloc.start()
    try:
        index = RoutingIndex.build(spec.trunks, spec.rules)
        for facts in spec.calls[:1000]:
            index.route(facts, Mode.EXPLICIT)
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def prepare(numbers: int) -> tuple[Row, RoutingIndex, Spec]:
    spec = make_spec(numbers, calls=20_000)
    start = time.process_time()
    index = RoutingIndex.build(spec.trunks, spec.rules)
    build = time.process_time() - start
    check_equal(spec, index)
    mode = Mode.EXPLICIT
    row = Row(
        numbers, len(spec.trunks), len(spec.rules), build, index_size(spec),
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


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def ratios(last: Engine, first: Engine) -> list[float]:
    """Repetition by repetition: the rate at the largest size over the rate at the smallest."""
    return [a / b for a, b in zip(last.bests, first.bests)]


def render(
    rows: list[Row], seconds: float, repeat: int, profiles: dict[int, str], calls: int, load: tuple[float, float],
    command: str,
) -> str:
    first, last = rows[0], rows[-1]
    flat, flat_hot = ratios(last.index, first.index), ratios(last.index_hot, first.index_hot)
    lines = [
        "# Routing benchmark",
        "",
        f"`{command}` (Python {platform.python_version()}, {os.cpu_count()} cores, one process),",
        f"{seconds:g} CPU s per engine and size in each of {repeat} repetition(s); a repetition's rate is the best of",
        f"its {ROUNDS} rounds, alternating over engines and sizes, in decisions per CPU second (the machine is",
        "shared); each figure is the median of the repetitions, with their range.",
        f"Trunks of {NUMBERS_PER_TRUNK} numbers with a source allowlist (IPv4 /24, IPv6 /48), 2 dispatch rules per",
        f"trunk; {calls:,} calls, each to a number of the spec drawn uniformly at random, from an allowed source",
        "(80% IPv4). A decision is a whole `route`: trunk, auth, rule, evaluation, participant attributes.",
        "",
        "| numbers | trunks | rules | index build | index size | index (no trace) | index, 50 calls repeated "
        "| reference (trace) | reference (no trace) | index ÷ reference |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.numbers:,} | {row.trunks:,} | {row.rules:,} | {row.build_seconds:.2f} s "
            f"| {_size(row.index_bytes)} | {row.index.figure()} | {row.index_hot.figure()} "
            f"| {row.reference.median:,.0f}/s | {row.reference_quiet.median:,.0f}/s "
            f"| {row.index.median / row.reference.median:,.0f}× |"
        )
    lines += [
        "",
        f"Index at {last.numbers:,} numbers ÷ at {first.numbers:,}: {statistics.median(flat):.2f}"
        + (f" (repetitions {min(flat):.2f}–{max(flat):.2f})" if len(flat) > 1 else "")
        + f"; over the same 50 calls repeated: {statistics.median(flat_hot):.2f}.",
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
    """A row's rates, decisions per CPU second: the median of the repetitions' best rounds."""
    return {
        "numbers": row.numbers, "trunks": row.trunks, "rules": row.rules, "build_seconds": row.build_seconds,
        "index": row.index.best, "index_hot": row.index_hot.best,
        "reference": row.reference.best, "reference_quiet": row.reference_quiet.best, "index_bytes": row.index_bytes,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.routing")
    parser.add_argument("--sizes", default="100,1000,10000,100000", help="called numbers per spec")
    parser.add_argument("--seconds", type=float, default=3.0, help="CPU time per engine and size, each repetition")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the whole measurement (medians)")
    parser.add_argument("--out", default=str(HERE / "routing_figures.md"))
    parser.add_argument("--json", type=Path, help="also write the rates to this file (for python -m bench.scale)")
    args = parser.parse_args(argv)
    command = " ".join(["python -m bench.routing", *argv])
    start_load = os.getloadavg()[0]
    rows, built = [], {}
    for numbers in (int(s) for s in args.sizes.split(",")):
        row, index, spec = prepare(numbers)
        rows.append(row)
        built[numbers] = index, spec
        print(f"{numbers:>7,} numbers: {row.trunks:,} trunks, {row.rules:,} rules, index built in "
              f"{row.build_seconds:.2f} s", flush=True)
    for repetition in range(args.repeat):
        for _ in range(ROUNDS):
            for row in rows:
                for engine in (row.index, row.index_hot, row.reference, row.reference_quiet):
                    engine.run(args.seconds / ROUNDS)
        for row in rows:
            for engine in (row.index, row.index_hot, row.reference, row.reference_quiet):
                engine.repetition_done()
            print(f"{repetition + 1}/{args.repeat} {row.numbers:>7,} numbers: index {row.index.bests[-1]:>9,.0f}/s"
                  f"  (50 calls repeated {row.index_hot.bests[-1]:>9,.0f}/s)  reference {row.reference.bests[-1]:>9,.0f}/s"
                  f"  reference (no trace) {row.reference_quiet.bests[-1]:>9,.0f}/s", flush=True)
    ends = dict.fromkeys((rows[0].numbers, rows[-1].numbers))
    profiles = {numbers: profile(*built[numbers]) for numbers in ends}
    load = (start_load, os.getloadavg()[0])
    calls = len(built[rows[0].numbers][1].calls)
    Path(args.out).write_text(render(rows, args.seconds, args.repeat, profiles, calls, load, command))
    if args.json:
        flat = ratios(rows[-1].index, rows[0].index)
        args.json.write_text(json.dumps({
            "rows": [figures(row) for row in rows], "load": load, "seconds": args.seconds, "repeat": args.repeat,
            "flatness": {"median": statistics.median(flat), "low": min(flat), "high": max(flat)},
        }))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
