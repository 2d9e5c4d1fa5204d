"""SweepTimer (sipconf.bridge.clock): one timer for a heap of expiries, on a ManualClock."""

from __future__ import annotations

from sipconf.bridge.clock import ManualClock, SweepTimer


def test_one_timer_for_the_earliest_due_and_no_sweep_sooner_than_the_interval_after_the_last():
    clock = ManualClock()
    swept: list[float] = []
    sweeper = SweepTimer(clock, 0.1, swept.append)
    sweeper.want(5.0)
    sweeper.want(2.0)  # earlier: the timer moves
    sweeper.want(3.0)  # later: the timer stays
    assert clock.pending == 1
    clock.advance(2.0)
    assert swept == [2.0] and clock.pending == 0
    sweeper.want(2.01)  # due at once, but the last sweep was just now: after the interval
    clock.advance(0.05)
    assert swept == [2.0]
    clock.advance(0.05)
    assert swept == [2.0, 2.1]


def test_a_cancelled_sweeper_leaves_no_timer_and_can_be_asked_again():
    clock = ManualClock()
    swept: list[float] = []
    sweeper = SweepTimer(clock, 0.1, swept.append)
    sweeper.want(1.0)
    sweeper.cancel()
    assert clock.pending == 0
    clock.advance(2.0)
    assert swept == []
    sweeper.want(2.5)
    clock.advance(1.0)
    assert swept == [2.5]
