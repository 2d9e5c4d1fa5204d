"""Admission control (503 + Retry-After before any routing or media work), on a ManualClock:
no sleeping, no timing asserts."""

from __future__ import annotations

import asyncio
import time

import pytest

from sipconf.bridge.admission import FRONT_HOLD, PROBE_INTERVAL, QUEUE_HOLD, TREND_WINDOW, Admission, AdmissionLimits
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.dialog import Dialog
from sipconf.bridge.transaction import build_ack_for_non2xx

from tests.bridge.test_calls_inbound import call, direct_rule, open_trunk, participants, ring, run


def test_below_every_limit_everything_is_admitted():
    clock = ManualClock()
    adm = Admission(clock, AdmissionLimits(max_calls=10, max_pending=5, max_lag=0.1))
    adm.start()
    for _ in range(100):
        clock.advance(PROBE_INTERVAL)
        assert adm.admit(calls=9, pending=4) is None
    assert adm.lag == 0 and adm.refused == {}


def test_max_calls_refuses_with_503_and_retry_after():
    adm = Admission(ManualClock(), AdmissionLimits(max_calls=2, retry_after=7))
    assert adm.admit(1, 1) is None
    refusal = adm.admit(2, 0)
    assert (refusal.status, refusal.reason, refusal.why) == (503, "Service Unavailable", "max_calls")
    assert refusal.headers == [("Retry-After", "7")]
    assert adm.refused == {"max_calls": 1}


def test_max_pending_counts_unanswered_invites_only_when_set():
    assert Admission(ManualClock(), AdmissionLimits(max_calls=100)).admit(50, 50) is None
    refusal = Admission(ManualClock(), AdmissionLimits(max_calls=100, max_pending=3)).admit(5, 3)
    assert refusal.why == "max_pending"


def test_a_busy_loop_sheds_then_recovers_once_the_probes_run_on_time():
    clock = ManualClock()
    adm = Admission(clock, AdmissionLimits(max_calls=1000, max_lag=0.1))
    adm.start()
    clock.advance(PROBE_INTERVAL * 3)
    assert adm.admit(0, 0) is None
    clock.busy(1.0)  # the loop is stuck: the next probe is already 0.95 s overdue
    assert adm.admit(0, 0).why == "overload"
    clock.advance(0)  # the late probe runs: its lag enters the average
    assert adm.lag > 0.1 and adm.admit(0, 0).why == "overload"
    for _ in range(20):
        clock.advance(PROBE_INTERVAL)  # on time again: the average decays
    assert adm.lag < 0.1 and adm.admit(0, 0) is None
    assert adm.refused == {"overload": 2}


def test_one_short_stall_alone_does_not_shed():
    clock = ManualClock()
    adm = Admission(clock, AdmissionLimits(max_lag=0.1))
    adm.start()
    clock.call_later(0.01, lambda: clock.busy(0.2))
    clock.advance(PROBE_INTERVAL)
    assert 0 < adm.lag <= 0.1 and adm.admit(0, 0) is None


def test_lag_off_and_stop_leave_no_timer():
    clock = ManualClock()
    Admission(clock, AdmissionLimits(max_lag=0)).start()
    assert clock.pending == 0
    adm = Admission(clock, AdmissionLimits(max_lag=0.1))
    adm.start()
    assert clock.pending == 1
    adm.stop()
    assert clock.pending == 0
    clock.busy(5)
    assert adm.admit(0, 0) is None


@pytest.mark.parametrize("kwargs", [{"max_calls": 0}, {"max_lag": -1}, {"max_pending": -1}])
def test_bad_limits(kwargs):
    with pytest.raises(ValueError):
        AdmissionLimits(**kwargs)


def test_max_calls_1_second_concurrent_invite_gets_503_and_the_first_call_completes(tmp_path):
    """Real sockets: the first call rings (ring delay), a second INVITE meanwhile gets 503 with
    Retry-After and no routing (no participant), then the first call is answered and hung up."""

    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        target = bridge.udp_address
        first = await ring(bridge, peer)
        second = peer.invite(target, "+15550222", "+15550100")
        peer.send(second, target)
        busy = await peer.final_to(second)
        assert (busy.status, busy.reason, busy.get("retry-after")) == (503, "Service Unavailable", "1")
        assert [r.status for r in peer.responses_to(second)] == [503]
        peer.send(build_ack_for_non2xx(second, busy), target)
        assert [p.identity for p in await participants(lk, "support")] == ["sip_+15550111"]
        bridge.clock.advance(5)  # the ring delay
        ok = await peer.final_to(first)
        assert ok.status == 200
        peer.send(peer.ack_for(first, ok), target)
        bye = Dialog.from_uac(first, ok).create_request("BYE", peer.via)
        peer.send(bye, target)
        assert (await peer.final_to(bye)).status == 200
        assert await participants(lk, "support") == []
        assert bridge.admission.refused == {"max_calls": 1}

    asyncio.run(run(scenario, ring_delay=5, max_calls=1)(tmp_path / "s.db"))


def test_queue_age_refuses_only_in_a_queue_that_stays_old_and_0_turns_it_off():
    clock = ManualClock()
    adm = Admission(clock, AdmissionLimits(max_queue_age=0.1, retry_after=3))
    for _ in range(5):
        adm.observe(0.3)  # a few datagrams that waited: the process was off the CPU, say
    assert 0 < adm.queue_age < 0.1 and not adm.stale(0.3)
    for _ in range(20):
        adm.observe(0.3)  # the backlog of a pause: old, but not for long yet
    assert adm.queue_age > 0.1 and not adm.stale(0.3)
    clock.advance(QUEUE_HOLD)
    adm.observe(0.3)  # still old after QUEUE_HOLD: overload
    assert adm.stale(0.3) and not adm.stale(0.1) and not adm.stale(0.0)  # old, but this one was not
    for _ in range(40):
        adm.observe(0.0)  # read on time again: the average decays
    assert adm.queue_age < 0.05 and adm.old_since is None and not adm.stale(0.3)
    off = Admission(ManualClock(), AdmissionLimits(max_queue_age=0))
    off.observe(60)
    assert not off.stale(60)
    refusal = adm.refuse("queue_age")
    assert (refusal.status, refusal.why, refusal.headers) == (503, "queue_age", [("Retry-After", "3")])
    assert adm.refused == {"queue_age": 1}
    with pytest.raises(ValueError):
        AdmissionLimits(max_queue_age=-1)


def _read(adm: Admission, clock: ManualClock, seconds: float, age_at) -> None:
    """Datagrams read for `seconds` of the manual clock, one a millisecond; `age_at(t)` is how
    long the one read at `t` waited."""
    for step in range(int(seconds * 1000)):
        clock.advance(0.001)
        adm.observe(age_at(step / 1000))


def _paused(adm: Admission, clock: ManualClock, seconds: float) -> None:
    """Reads on time, then none for `seconds` (a collection, the process off the CPU)."""
    _read(adm, clock, 0.2, lambda t: 0.001)
    clock.advance(seconds)


def test_the_backlog_a_pause_leaves_is_not_overload_however_slowly_it_drains():
    """Near saturation, the backlog of a 400 ms pause takes seconds to drain: each datagram read
    waited a little less than the one before. That queue is old but getting younger: no INVITE
    is stale and the front is never told to refuse."""
    clock = ManualClock()
    adm = Admission(clock, AdmissionLimits(max_queue_age=0.2))
    _paused(adm, clock, 0.4)
    for chunk in range(60):  # 10% spare: 0.1 s younger a second
        _read(adm, clock, 0.05, lambda t: 0.4 - 0.1 * (chunk * 0.05 + t))
        assert adm.old_since is not None and not adm.stale(0.3) and not adm.front_sheds()
    assert adm.queue_age > 0.1 and adm.refused == {}  # still old after 3 s
    _read(adm, clock, 0.5, lambda t: 0.001)  # drained
    assert not adm.after_pause and adm.old_since is None


def test_a_queue_that_keeps_ageing_is_overload_the_front_at_once_the_bridge_after_queue_hold():
    clock = ManualClock()
    adm = Admission(clock, AdmissionLimits(max_queue_age=0.2))
    _read(adm, clock, 0.45, lambda t: 0.5 * t)  # twice what the bridge can take: 0.5 s older a second
    crossed = adm.old_since
    assert crossed is not None and not adm.after_pause and adm.front_sheds() and not adm.stale(0.3)
    _read(adm, clock, QUEUE_HOLD, lambda t: 0.225 + 0.5 * t)
    assert adm.old_since == crossed and adm.stale(0.5)
    _read(adm, clock, 3 * TREND_WINDOW, lambda t: 0.45 - 0.1 * t)  # the front's refusals work: it drains
    assert not adm.stale(0.6) and adm.old_since > crossed


def test_after_a_pause_a_queue_that_keeps_ageing_is_overload_once_front_hold_has_passed():
    clock = ManualClock()
    adm = Admission(clock, AdmissionLimits(max_queue_age=0.2))
    _paused(adm, clock, 0.3)
    _read(adm, clock, 0.05, lambda t: 0.3 + 0.5 * t)  # the backlog does not drain: more came than went
    crossed = adm.old_since
    assert adm.after_pause and crossed is not None and not adm.front_sheds()
    _read(adm, clock, FRONT_HOLD, lambda t: 0.325 + 0.5 * t)
    assert adm.old_since == crossed and adm.front_sheds()


def test_an_invite_read_late_gets_503_at_once_without_a_transaction(tmp_path):
    """Real sockets: while the event loop is blocked, the caller's INVITE waits in the socket's
    queue; read past max_queue_age in a queue that has been old, it gets 503 + Retry-After at
    once (no 100, no routing, no transaction). An INVITE read on time is then routed and
    answered as ever."""

    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        target = bridge.udp_address
        bridge.admission.queue_age, bridge.admission.old_since = 1.0, -10.0  # the queue has long been old
        late = peer.invite(target, "+15550111", "+15550100")
        peer.send(late, target)
        time.sleep(0.3)  # the loop cannot read: the INVITE waits in the kernel (max_queue_age 0.1 s)
        busy = await peer.final_to(late)
        assert (busy.status, busy.reason, busy.get("retry-after")) == (503, "Service Unavailable", "1")
        assert [r.status for r in peer.responses_to(late)] == [503]
        assert bridge.tm.server == {} and bridge.pending == {}
        peer.send(build_ack_for_non2xx(late, busy), target)
        assert bridge.admission.refused == {"queue_age": 1}
        assert await participants(lk, "support") == []
        invite, final = await call(bridge, peer)
        assert final.status == 200
        assert [p.identity for p in await participants(lk, "support")] == ["sip_+15550111"]

    asyncio.run(run(scenario, max_queue_age=0.1)(tmp_path / "s.db"))


def test_one_invite_read_late_alone_is_not_overload(tmp_path):
    """A lone INVITE that waited while the loop was busy (a GC pause, the process off the CPU)
    is routed as ever: the queue before it was not old."""

    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        target = bridge.udp_address
        invite = peer.invite(target, "+15550111", "+15550100")
        peer.send(invite, target)
        time.sleep(0.25)
        assert (await peer.final_to(invite)).status == 200
        assert bridge.admission.refused == {}

    asyncio.run(run(scenario, max_queue_age=0.1)(tmp_path / "s.db"))


def test_a_retransmitted_invite_read_late_is_not_shed(tmp_path):
    """The INVITE of a call already admitted is its transaction's, however late it is read:
    the transaction answers it with its last response, and the call goes on."""

    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        target = bridge.udp_address
        invite = await ring(bridge, peer)
        ringing = len(peer.responses_to(invite))
        bridge.admission.queue_age, bridge.admission.old_since = 1.0, -10.0  # a new INVITE would be refused
        peer.send(invite, target)  # a retransmission, read late
        time.sleep(0.3)
        await peer.wait_for(lambda m: len(peer.responses_to(invite)) > ringing)
        assert [r.status for r in peer.responses_to(invite)][ringing:] == [180]
        assert bridge.admission.refused == {}
        bridge.clock.advance(5)  # the ring delay
        assert (await peer.final_to(invite)).status == 200

    asyncio.run(run(scenario, ring_delay=5, max_queue_age=0.1)(tmp_path / "s.db"))


def test_a_refused_invite_is_remembered_its_ack_dropped_and_a_retransmission_refused_again(tmp_path):
    """Stateless refusals keep the branch: the caller's ACK for the 503 is dropped before it is
    parsed, and the same INVITE sent again, even read on time, gets the same 503 (never a call)."""

    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        target = bridge.udp_address
        bridge.admission.queue_age, bridge.admission.old_since = 1.0, -10.0  # the queue has long been old
        invite = peer.invite(target, "+15550111", "+15550100")
        peer.send(invite, target)
        time.sleep(0.3)
        busy = await peer.final_to(invite)
        assert busy.status == 503 and bridge.doorman.branches == {invite.top_via.branch: None}
        handled = bridge._received
        peer.send(build_ack_for_non2xx(invite, busy), target)
        peer.send(invite, target)  # read on time, but refused before
        await peer.wait_for(lambda m: len(peer.responses_to(invite)) == 2)
        assert [r.status for r in peer.responses_to(invite)] == [503, 503]
        # RFC 3261 8.2.6.2 / 8.2.7: a To tag, the same one for the same request
        assert len({r.to.tag for r in peer.responses_to(invite)}) == 1 and busy.to.tag
        assert bridge._received == handled  # neither the ACK nor the INVITE was parsed
        assert bridge.admission.refused == {"queue_age": 1} and bridge.tm.server == {}
        assert await participants(lk, "support") == []

    asyncio.run(run(scenario, max_queue_age=0.1)(tmp_path / "s.db"))


def test_an_invite_that_is_not_plain_is_refused_late_by_the_full_path(tmp_path):
    """A folded header line keeps the INVITE from the door's quick reading: parsed as usual, it
    is refused the same way, statelessly, once found stale."""

    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        target = bridge.udp_address
        invite = peer.invite(target, "+15550111", "+15550100", headers=[("Subject", "a folded")])
        folded = bytes(invite).replace(b"Subject: a folded", b"Subject: a\r\n folded")
        bridge.admission.queue_age, bridge.admission.old_since = 1.0, -10.0  # the queue has long been old
        peer.send(folded, target)
        time.sleep(0.3)
        busy = await peer.final_to(invite)
        assert (busy.status, busy.get("retry-after")) == (503, "1") and busy.to.tag
        assert bridge.admission.refused == {"queue_age": 1} and bridge.tm.server == {}
        assert bridge.doorman.branches == {invite.top_via.branch: None}

    asyncio.run(run(scenario, max_queue_age=0.1)(tmp_path / "s.db"))
