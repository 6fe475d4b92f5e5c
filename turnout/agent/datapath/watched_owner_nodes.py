"""Owner nodes a claim found held by another live session, with our watch on each.

A claim that finds a partition's owner node held by someone else leaves a watch on it
(on the node, or on its parent's children); the node's deletion fires the watch, and
only then is the claim worth trying again. Remembering those nodes lets a retry skip
the nodes still held instead of asking ZooKeeper about every pending partition again.

Thread safety: ``held_elsewhere`` runs on the agent thread, ``freed`` on kazoo's event
thread. A deletion can fire between our look (which found the node) and ``held_elsewhere``;
``freed`` therefore remembers what went since the attempt began (``begin``), and
``held_elsewhere`` refuses those. Everything is under one lock held for a few set operations.

Safety net: watches die with their session (``reset`` on session loss), and anything
remembered longer than ``RECHECK_AFTER_S`` is looked at again, so a watch lost by any
other path can delay a claim by that much but never block it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

#: Re-examine nodes believed held elsewhere after this long even without an event (level-
#: triggered safety net, like the agent's periodic resync).
RECHECK_AFTER_S = 10.0


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


class WatchedOwnerNodes:
    def __init__(
        self,
        recheck_after_s: float = RECHECK_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._recheck_after_s = recheck_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, float] = {}
        self._freed: set[str] = set()

    def begin(self, paths: Iterable[str]) -> None:
        """A claim attempt of ``paths`` starts: forget older events of them (and of
        their parents)."""
        with self._lock:
            for path in paths:
                self._freed.discard(path)
                self._freed.discard(_parent(path))

    def held_elsewhere(self, path: str) -> None:
        """The attempt found ``path`` held by another session and armed a watch on it
        or on its parent's children."""
        with self._lock:
            if path not in self._freed and _parent(path) not in self._freed:
                self._held[path] = self._clock()

    def freed(self, path: str) -> None:
        """A watch fired on ``path`` (kazoo's thread): the node itself, or the parent
        whose children changed. Whatever it covers is worth trying again."""
        with self._lock:
            self._freed.add(path)
            self._held.pop(path, None)
            for held in [h for h in self._held if _parent(h) == path]:
                del self._held[held]

    def worth_trying(self, path: str) -> bool:
        """False while ``path`` is known held and its watch has not fired."""
        with self._lock:
            since = self._held.get(path)
            if since is None:
                return True
            if self._clock() - since >= self._recheck_after_s:
                del self._held[path]
                return True
            return False

    def reset(self) -> None:
        """Watches are gone (session lost): believe nothing."""
        with self._lock:
            self._held.clear()
            self._freed.clear()
