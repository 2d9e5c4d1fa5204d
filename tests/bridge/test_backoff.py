"""The digest back-off on its own, on a ManualClock (the bridge tests drive it over UDP)."""

from __future__ import annotations

import pytest

from sipconf.bridge.backoff import Backoff, BackoffPolicy
from sipconf.bridge.clock import ManualClock


def fail(backoff: Backoff, times: int, source: str = "192.0.2.1", user: str = "acme") -> None:
    for _ in range(times):
        backoff.failed(source, user)


def test_ten_failures_within_a_minute_back_off_for_30_seconds() -> None:
    clock = ManualClock()
    backoff = Backoff(clock)
    fail(backoff, 9)
    assert backoff.retry_after("192.0.2.1", "acme") is None
    backoff.failed("192.0.2.1", "acme")
    assert backoff.retry_after("192.0.2.1", "acme") == 30
    clock.advance(12.5)
    assert backoff.retry_after("192.0.2.1", "acme") == 18  # whole seconds, rounded up
    clock.advance(17.5)
    assert backoff.retry_after("192.0.2.1", "acme") is None
    assert (backoff.counters.failures, backoff.counters.backoffs, backoff.counters.refused) == (10, 1, 2)


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = ManualClock()
    backoff = Backoff(clock)
    fail(backoff, 9)
    clock.advance(60)
    fail(backoff, 9)
    assert backoff.retry_after("192.0.2.1", "acme") is None
    backoff.failed("192.0.2.1", "acme")
    assert backoff.retry_after("192.0.2.1", "acme") == 30


def test_each_back_off_doubles_up_to_15_minutes() -> None:
    clock = ManualClock()
    backoff = Backoff(clock)
    seen = []
    for _ in range(8):
        fail(backoff, 10)
        wait = backoff.retry_after("192.0.2.1", "acme")
        seen.append(wait)
        clock.advance(wait)
    assert seen == [30, 60, 120, 240, 480, 900, 900, 900]
    assert backoff.active == 0


def test_a_quiet_spell_or_a_success_starts_over() -> None:
    clock = ManualClock()
    backoff = Backoff(clock)
    fail(backoff, 10)
    clock.advance(30)
    fail(backoff, 10)
    assert backoff.retry_after("192.0.2.1", "acme") == 60
    clock.advance(60 + 900)  # 15 minutes without a failure after the back-off
    fail(backoff, 10)
    assert backoff.retry_after("192.0.2.1", "acme") == 30
    clock.advance(30)
    fail(backoff, 9)
    backoff.succeeded("192.0.2.1", "acme")
    backoff.failed("192.0.2.1", "acme")
    assert backoff.retry_after("192.0.2.1", "acme") is None
    assert len(backoff) == 1


def test_keys_are_source_and_username() -> None:
    backoff = Backoff(ManualClock())
    fail(backoff, 10)
    assert backoff.retry_after("192.0.2.1", "acme") == 30
    assert backoff.retry_after("192.0.2.2", "acme") is None
    assert backoff.retry_after("192.0.2.1", "other") is None
    assert backoff.active == 1


def test_a_trusted_proxy_is_keyed_by_username_alone() -> None:
    backoff = Backoff(ManualClock(), trusted_proxies=["198.51.100.0/24", "2001:db8::1"])
    fail(backoff, 5, source="198.51.100.7")
    fail(backoff, 5, source="198.51.100.8")
    assert backoff.retry_after("198.51.100.9", "acme") == 30  # every address of the proxy
    assert backoff.retry_after("::ffff:198.51.100.9", "acme") == 30  # IPv4-mapped, as a dual-stack socket sees it
    assert backoff.retry_after("198.51.100.9", "other") is None
    assert backoff.retry_after("192.0.2.1", "acme") is None  # an untrusted source keeps its own key
    assert backoff.key("2001:db8::1", "acme") == (None, "acme")
    assert backoff.key("2001:db8::2", "acme") == ("2001:db8::2", "acme")


def test_zero_failures_turns_it_off() -> None:
    backoff = Backoff(ManualClock(), BackoffPolicy(failures=0))
    fail(backoff, 100)
    assert backoff.retry_after("192.0.2.1", "acme") is None
    assert len(backoff) == 0


def test_the_least_recently_failed_key_is_forgotten_first() -> None:
    backoff = Backoff(ManualClock(), capacity=2)
    fail(backoff, 10, user="a")
    fail(backoff, 1, user="b")
    fail(backoff, 1, user="c")
    assert len(backoff) == 2
    assert backoff.retry_after("192.0.2.1", "a") is None


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"failures": -1}, "back-off failures -1: expected a number >= 0 (0 = off)"),
        ({"window": 0}, "back-off window 0: expected a number of seconds > 0"),
        ({"first": -5}, "back-off first -5: expected a number of seconds > 0"),
        ({"first": 60, "longest": 30}, "back-off longest 30 s is shorter than the first back-off 60 s"),
    ],
)
def test_policy_errors(fields: dict, error: str) -> None:
    with pytest.raises(ValueError) as info:
        BackoffPolicy(**fields)
    assert str(info.value) == error



def test_tables_kept_in_step_by_their_events_back_off_together() -> None:
    """Call workers: each process tells the others every answer it checked (`on_event`), and
    they `apply` it; failures made to any process count, and each is counted once."""
    clock = ManualClock()
    tables = [Backoff(clock, BackoffPolicy(failures=4)) for _ in range(2)]
    for n, table in enumerate(tables):
        others = [t for t in tables if t is not table]
        table.on_event = lambda ok, ip, user, others=others: [t.apply(ok, ip, user) for t in others]
    for n in range(4):
        tables[n % 2].failed("192.0.2.1", "acme")
    assert [t.retry_after("192.0.2.1", "acme") for t in tables] == [30, 30]
    assert sum(t.counters.failures for t in tables) == 4 and sum(t.counters.backoffs for t in tables) == 1
    clock.advance(30)
    tables[1].succeeded("192.0.2.1", "acme")  # forgotten everywhere
    assert [len(t) for t in tables] == [0, 0]
