"""WatchedOwnerNodes: which pending claims are worth another request."""

from __future__ import annotations

import time

from turnout.agent.datapath.watched_owner_nodes import WatchedOwnerNodes


def test_a_node_held_elsewhere_is_skipped_until_its_watch_fires() -> None:
    watched = WatchedOwnerNodes()
    watched.begin(["/o/t/1"])
    watched.held_elsewhere("/o/t/1")
    assert not watched.worth_trying("/o/t/1")
    assert watched.worth_trying("/o/t/2")
    watched.freed("/o/t/1")
    assert watched.worth_trying("/o/t/1")


def test_a_children_event_on_the_parent_frees_every_node_under_it() -> None:
    watched = WatchedOwnerNodes()
    watched.begin(["/o/t/1", "/o/t/2", "/o/u/1"])
    for path in ("/o/t/1", "/o/t/2", "/o/u/1"):
        watched.held_elsewhere(path)
    watched.freed("/o/t")
    assert watched.worth_trying("/o/t/1") and watched.worth_trying("/o/t/2")
    assert not watched.worth_trying("/o/u/1")


def test_a_deletion_seen_before_the_attempt_ends_is_not_forgotten() -> None:
    # The watch can fire between our look (node there) and mark_watched.
    watched = WatchedOwnerNodes()
    watched.begin(["/o/t/1", "/o/t/2"])
    watched.freed("/o/t/1")
    watched.freed("/o/t")
    watched.held_elsewhere("/o/t/1")
    watched.held_elsewhere("/o/t/2")
    assert watched.worth_trying("/o/t/1") and watched.worth_trying("/o/t/2")


def test_an_event_from_before_the_attempt_does_not_hide_a_node_held_elsewhere() -> None:
    watched = WatchedOwnerNodes()
    watched.freed("/o/t/1")
    watched.begin(["/o/t/1"])
    watched.held_elsewhere("/o/t/1")
    assert not watched.worth_trying("/o/t/1")


def test_a_lost_watch_delays_a_claim_only_until_the_recheck() -> None:
    watched = WatchedOwnerNodes(recheck_after_s=0.05)
    watched.begin(["/o/t/1"])
    watched.held_elsewhere("/o/t/1")
    assert not watched.worth_trying("/o/t/1")
    time.sleep(0.06)
    assert watched.worth_trying("/o/t/1")


def test_a_lost_session_forgets_everything() -> None:
    watched = WatchedOwnerNodes()
    watched.begin(["/o/t/1"])
    watched.held_elsewhere("/o/t/1")
    watched.reset()
    assert watched.worth_trying("/o/t/1")
