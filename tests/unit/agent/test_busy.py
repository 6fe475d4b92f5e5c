"""BusyOwners: which pending claims are worth another request."""

from __future__ import annotations

import time

from turnout.agent.busy import BusyOwners


def test_a_node_marked_busy_is_skipped_until_its_watch_fires() -> None:
    busy = BusyOwners()
    busy.begin(["/o/t/1"])
    busy.mark_busy("/o/t/1")
    assert not busy.worth_trying("/o/t/1")
    assert busy.worth_trying("/o/t/2")
    busy.freed("/o/t/1")
    assert busy.worth_trying("/o/t/1")


def test_a_children_event_on_the_parent_frees_every_node_under_it() -> None:
    busy = BusyOwners()
    busy.begin(["/o/t/1", "/o/t/2", "/o/u/1"])
    for path in ("/o/t/1", "/o/t/2", "/o/u/1"):
        busy.mark_busy(path)
    busy.freed("/o/t")
    assert busy.worth_trying("/o/t/1") and busy.worth_trying("/o/t/2")
    assert not busy.worth_trying("/o/u/1")


def test_a_deletion_seen_before_the_attempt_ends_is_not_forgotten() -> None:
    # The watch can fire between our look (node there) and mark_busy.
    busy = BusyOwners()
    busy.begin(["/o/t/1", "/o/t/2"])
    busy.freed("/o/t/1")
    busy.freed("/o/t")
    busy.mark_busy("/o/t/1")
    busy.mark_busy("/o/t/2")
    assert busy.worth_trying("/o/t/1") and busy.worth_trying("/o/t/2")


def test_an_event_from_before_the_attempt_does_not_hide_a_busy_node() -> None:
    busy = BusyOwners()
    busy.freed("/o/t/1")
    busy.begin(["/o/t/1"])
    busy.mark_busy("/o/t/1")
    assert not busy.worth_trying("/o/t/1")


def test_a_lost_watch_delays_a_claim_only_until_the_recheck() -> None:
    busy = BusyOwners(recheck_after_s=0.05)
    busy.begin(["/o/t/1"])
    busy.mark_busy("/o/t/1")
    assert not busy.worth_trying("/o/t/1")
    time.sleep(0.06)
    assert busy.worth_trying("/o/t/1")


def test_a_lost_session_forgets_everything() -> None:
    busy = BusyOwners()
    busy.begin(["/o/t/1"])
    busy.mark_busy("/o/t/1")
    busy.reset()
    assert busy.worth_trying("/o/t/1")
