"""``heap``: what the CLI's agent process freezes, what it still collects, and how often
it collects. Each case runs in a Python of its own: freezing the test session's heap would
keep its later garbage for the rest of the session."""

from __future__ import annotations

import subprocess
import sys
import textwrap

#: A fresh interpreter importing the agent takes well under this, even on a loaded box.
SUBPROCESS_TIMEOUT_S = 60.0


def _run(code: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def test_start_up_garbage_is_collected_and_what_lives_is_frozen() -> None:
    out = _run(
        """
        import gc, weakref
        import turnout.agent.cli  # the start-up's modules
        from turnout.agent.heap import freeze_start_up

        class Node:
            pass

        garbage = Node(); garbage.me = garbage  # a cycle only a collection frees
        gone = weakref.ref(garbage); del garbage
        frozen = freeze_start_up()
        print(gone() is None, frozen == gc.get_freeze_count(), frozen > 10_000)
        """
    )
    assert out == "True True True"


def test_cycles_made_after_the_freeze_are_still_collected() -> None:
    out = _run(
        """
        import gc, weakref
        from turnout.agent.heap import freeze_start_up

        class Node:
            pass

        freeze_start_up()
        later = Node(); later.me = later
        gone = weakref.ref(later); del later
        gc.collect()
        print(gone() is None)
        """
    )
    assert out == "True"


def test_young_collections_are_spaced_and_the_older_generations_keep_their_thresholds() -> None:
    out = _run(
        """
        import gc
        from turnout.agent.heap import YOUNG_COLLECTION_THRESHOLD, space_young_collections

        before = gc.get_threshold()
        space_young_collections()
        after = gc.get_threshold()
        print(after[0] == YOUNG_COLLECTION_THRESHOLD > before[0], after[1:] == before[1:])
        """
    )
    assert out == "True True"
