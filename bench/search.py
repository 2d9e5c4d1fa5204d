"""A responder's clean rate: the highest SIPp call rate it completes with no call failed.

Each probe starts the responder afresh, warms it with one call, and runs SIPp at one rate for
`seconds`. A probe is clean when every call placed completed, none failed, and SIPp really
placed them at the rate asked (at least `PLACED_SHARE` of it: a UAC past its own capacity
places calls late, which must not pass for the responder keeping up). Near a responder's edge
one 5 s probe is decided by noise (the same rate passes and fails in turn), so a rate is
judged by a majority of `votes` probes: two that agree decide it, a third is run only when
they do not (`votes=1`: one probe decides). The search doubles the
rate from `start` until a probe fails (or `ceiling`), then bisects (geometric mean, rounded to
10 calls/s) until the failing rate is within `resolution` of the clean one.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench.responders import Responder
from bench.sippload import LoadResult, run_uac

PLACED_SHARE = 0.9


@dataclass
class Search:
    clean: int = 0  # the highest clean rate found; 0 when not even `floor` was clean
    probes: list[LoadResult] = field(default_factory=list)

    @property
    def clean_probe(self) -> LoadResult | None:
        """A clean probe at the clean rate (the last, if the majority took several)."""
        return next((p for p in reversed(self.probes) if p.target_cps == self.clean and is_clean(p)), None)


def is_clean(result: LoadResult) -> bool:
    return (result.failed == 0 and result.successful == result.calls > 0
            and result.placed_cps >= PLACED_SHARE * result.target_cps)


Load = Callable[[str, int], LoadResult]  # (target, calls/s) -> SIPp's result


def one_call(target: str) -> None:
    run_uac(target, 1, 1)


def probe(responder: Responder, rate: int, load: Load, warm: Callable[[str], None] = one_call) -> LoadResult:
    """A fresh `responder`, warmed with one call, under `load` at `rate`."""
    with tempfile.TemporaryDirectory(prefix="sipconf-bench-") as tmpdir, responder(Path(tmpdir)) as started:
        warm(started.target)
        return load(started.target, rate)


VOTES = 3  # probes a rate is judged by, at most: the majority decides


def clean_rate(responder: Responder, load: Load, start: int, ceiling: int, resolution: float = 1.1,
               floor: int = 10, say: Callable[[str], None] = print,
               warm: Callable[[str], None] = one_call, votes: int = VOTES) -> Search:
    search = Search()

    def run(rate: int) -> bool:
        """The majority verdict of up to `votes` probes at `rate`."""
        verdicts = {True: 0, False: 0}
        while max(verdicts.values()) <= votes // 2:
            verdicts[run_once(rate)] += 1
        return verdicts[True] > votes // 2

    def run_once(rate: int) -> bool:
        result = probe(responder, rate, load, warm)
        if result.successful + result.failed == 0:  # SIPp never ran (a port taken meanwhile): once more
            say(f"  {rate:>6} calls/s: SIPp placed no call (exit {result.sipp_exit}), again")
            result = probe(responder, rate, load, warm)
        search.probes.append(result)
        clean = is_clean(result)
        say(f"  {rate:>6} calls/s: {result.successful} completed, {result.failed} failed, placed at"
            f" {result.placed_cps:,.0f}/s -> {'clean' if clean else 'not clean'}")
        return clean

    low, high = 0, None
    rate = start
    while rate <= ceiling:
        if run(rate):
            low = rate
            rate *= 2
        else:
            high = rate
            break
    while low == 0 and high is not None and high > floor:  # `start` was too high: halve down
        rate = max(floor, high // 2)
        if run(rate):
            low = rate
        else:
            high = rate
    while low and high is not None and high / low > resolution:
        rate = int(round((low * high) ** 0.5 / 10) * 10)
        if rate in (low, high):
            break
        if run(rate):
            low = rate
        else:
            high = rate
    search.clean = low
    return search
