"""Run scenarios: in parallel, serialised per far-end address, each one an `Outcome`.

Scenarios that share a far-end address run one after another, even with -j.
A scenario its driver cannot run (the inproc driver and an outbound call) is skipped with the
driver's reason: nothing was wrong with the scenario or the spec. A driver that does not exist,
or a wire driver without a bridge, is a failure: the run was set up wrong.

Before the call, the runner adds the waits the expectations need (`waits.with_expected_waits`);
after it, a call that never joined is explained by the spec (`explained.not_joined`).
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from sipconf.errors import UserError
from sipconf.model import DesiredState
from simulator.assertions import check
from simulator.drivers import DRIVERS, RunContext, Target
from simulator.explained import not_joined
from simulator.result import CallResult
from simulator.scenario.reader import LoadedScenario
from simulator.waits import with_expected_waits


@dataclass
class Outcome:
    """One scenario's verdict: mismatch lines (empty = passed), the observed result, the
    driver that ran it and how long it took."""

    loaded: LoadedScenario
    driver: str
    failures: list[str]
    result: CallResult
    seconds: float = 0.0
    # False when no call was placed (the driver cannot run the scenario): coverage skips it.
    # A call that ran and failed its assertions still touched what it reached.
    ran: bool = True
    # Why the driver cannot run this scenario, when it was skipped (then `failures` is empty).
    skipped: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures and self.skipped is None

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    @property
    def status(self) -> str:
        """"passed", "failed" or "skipped"."""
        return "skipped" if self.skipped is not None else "failed" if self.failures else "passed"


@dataclass
class RunOptions:
    driver: str | None = None  # overrides each scenario's own choice
    jobs: int = 4
    target: Target | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    timeout: float = 15.0


def select(scenarios: list[LoadedScenario], expr: str | None) -> list[LoadedScenario]:
    """`-k EXPR`: pytest-like; words joined by `and`/`or`/`not`, each a case-insensitive
    substring of the scenario id or one of its tags."""
    if not expr:
        return scenarios
    return [s for s in scenarios if _keyword_match(expr, s)]


def _keyword_match(expr: str, loaded: LoadedScenario) -> bool:
    haystack = [loaded.id.lower(), *(t.lower() for t in loaded.scenario.tags)]
    tokens = expr.replace("(", " ( ").replace(")", " ) ").split()
    parser = _KeywordParser(tokens, lambda word: any(word.lower() in h or fnmatch.fnmatch(h, word.lower()) for h in haystack))
    try:
        value = parser.expr()
        if parser.pos != len(tokens):
            raise ValueError
    except (ValueError, IndexError):
        raise UserError(f"-k {expr!r}: not a valid expression (words joined by and, or, not)") from None
    return value


class _KeywordParser:
    """expr := and ('or' and)*; and := not ('and' not)*; not := 'not' not | '(' expr ')' | WORD"""

    def __init__(self, tokens: list[str], word) -> None:
        self.tokens, self.word, self.pos = tokens, word, 0

    def _next(self) -> str:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def expr(self) -> bool:
        value = self.conj()
        while self._peek() == "or":
            self._next()
            value = self.conj() or value
        return value

    def conj(self) -> bool:
        value = self.neg()
        while self._peek() == "and":
            self._next()
            value = self.neg() and value
        return value

    def neg(self) -> bool:
        tok = self._next()
        if tok == "not":
            return not self.neg()
        if tok == "(":
            value = self.expr()
            if self._next() != ")":
                raise ValueError
            return value
        if tok in ("and", "or", ")"):
            raise ValueError
        return self.word(tok)


def environ_for(loaded: LoadedScenario, base: Mapping[str, str]) -> dict[str, str]:
    """The suite's test credentials, under whatever the environment already sets."""
    return {**dict(loaded.env), **base}


def far_end_key(loaded: LoadedScenario, desired: DesiredState) -> str | None:
    """The far-end address a scenario occupies (its outbound trunk's, or the transfer
    target's trunk), or None when it needs none."""
    call = loaded.scenario.call
    if call.direction == "outbound":
        obj = desired.find("outbound_trunk", call.trunk)
        return obj.message.address if obj is not None else f"unknown trunk {call.trunk}"
    if loaded.scenario.far_end is not None:
        return "inbound-far-end"
    return None


class Runner:
    def __init__(self, options: RunOptions, progress: Callable[[Outcome], None] | None = None) -> None:
        self.options = options
        self.progress = progress or (lambda o: None)
        self._locks: dict[str, asyncio.Lock] = {}

    async def run(self, scenarios: list[LoadedScenario]) -> list[Outcome]:
        sem = asyncio.Semaphore(max(1, self.options.jobs))

        async def one(loaded: LoadedScenario) -> Outcome:
            key = far_end_key(loaded, loaded.desired)
            lock = self._locks.setdefault(key, asyncio.Lock()) if key else None
            async with sem:
                if lock is None:
                    out = await self.run_one(loaded)
                else:
                    async with lock:
                        out = await self.run_one(loaded)
            self.progress(out)
            return out

        return list(await asyncio.gather(*(one(s) for s in scenarios)))

    async def run_one(self, loaded: LoadedScenario) -> Outcome:
        name = self.options.driver or loaded.driver
        start = time.monotonic()
        driver = DRIVERS.get(name)
        if driver is None:
            return Outcome(loaded, name, [f"driver {name!r} is not available (known: {', '.join(sorted(DRIVERS))})"],
                           CallResult(), ran=False)
        reason = driver.cannot_run(loaded)
        if reason is not None:
            return Outcome(loaded, name, [], CallResult(), ran=False, skipped=reason)
        if name != "inproc" and self.options.target is None:
            return Outcome(loaded, name, [f"cannot run with the {name} driver: it needs a running bridge and LiveKit API"
                                          " (--url, or the embedded default)"], CallResult(), ran=False)
        environ = environ_for(loaded, self.options.environ)
        ctx = RunContext(
            desired=loaded.desired, environ=environ,
            target=self.options.target, mode=loaded.mode, timeout=self.options.timeout,
        )
        try:
            result = await asyncio.wait_for(driver.run(with_expected_waits(loaded), ctx), self.options.timeout * 3)
        except UserError as err:
            result = CallResult(errors=[f"error: {line}" for line in err.lines])
        except (asyncio.TimeoutError, TimeoutError):
            result = CallResult(errors=[f"the call did not finish within {self.options.timeout * 3:.0f}s"])
        except OSError as err:  # a port taken, a refused connection: this scenario fails, the run goes on
            result = CallResult(errors=[f"error: {err}"])
        failures = check(loaded.scenario.expect, result)
        if name != "inproc" and failures:
            failures = not_joined(loaded, result, environ, failures)
        return Outcome(loaded, name, failures, result, time.monotonic() - start)
