"""The local fence timer: the lease is valid only within (session - margin) of the last
proof that the session was alive, and only for the session it was granted on."""

from __future__ import annotations

from turnout.agent.lease import Lease, LeaseState, heartbeat_interval


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_new_lease_is_not_valid_until_a_session_starts() -> None:
    assert Lease(3.0, Clock()).state() is LeaseState.NONE


def test_lease_fences_once_silence_outlasts_the_fence_window() -> None:
    clock = Clock()
    lease = Lease(3.0, clock)
    lease.start(session_id=7, sent_at=clock.now)
    clock.now += 2.9
    assert lease.valid()
    clock.now += 0.2
    assert lease.state() is LeaseState.FENCED


def test_the_window_counts_from_when_the_proof_was_sent_not_received() -> None:
    clock = Clock()
    lease = Lease(3.0, clock)
    lease.start(7, clock.now)
    sent = clock.now + 1.0
    clock.now += 2.5  # the reply took 1.5 s
    assert lease.renew(7, sent)
    clock.now = sent + 3.01
    assert not lease.valid()


def test_a_process_frozen_past_the_window_is_fenced_on_waking() -> None:
    clock = Clock()
    lease = Lease(3.0, clock)
    lease.start(7, clock.now)
    clock.now += 10.0  # SIGSTOP ... SIGCONT: no callback ran meanwhile
    assert lease.state() is LeaseState.FENCED


def test_renewal_on_the_same_session_lifts_the_fence() -> None:
    clock = Clock()
    lease = Lease(3.0, clock)
    lease.start(7, clock.now)
    clock.now += 5.0
    assert not lease.valid()
    assert lease.renew(7, clock.now)
    assert lease.valid()


def test_success_on_another_session_proves_nothing_about_ours() -> None:
    clock = Clock()
    lease = Lease(3.0, clock)
    lease.start(7, clock.now)
    clock.now += 5.0
    assert not lease.renew(8, clock.now)
    assert not lease.valid()


def test_a_revoked_lease_stays_revoked_until_a_new_session_starts() -> None:
    clock = Clock()
    lease = Lease(3.0, clock)
    lease.start(7, clock.now)
    lease.revoke()
    assert lease.state() is LeaseState.REVOKED
    assert not lease.renew(7, clock.now)
    lease.start(9, clock.now)
    assert lease.valid() and lease.session_id == 9


def test_an_older_proof_never_moves_the_deadline_back() -> None:
    clock = Clock()
    lease = Lease(3.0, clock)
    lease.start(7, clock.now)
    lease.renew(7, clock.now + 2.0)
    lease.renew(7, clock.now + 1.0)  # a slow earlier heartbeat answering late
    clock.now += 4.9
    assert lease.valid()
    assert abs(lease.remaining_s() - 0.1) < 1e-9


def test_heartbeats_fit_four_times_into_the_fence_window() -> None:
    assert heartbeat_interval(3.0) == 0.5
    assert heartbeat_interval(1.0) == 0.25
