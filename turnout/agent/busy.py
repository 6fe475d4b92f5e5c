"""Owner nodes known to be held by another live session, with our watch on each.

A claim that finds a partition's owner node held by someone else leaves a watch on it
(on the node, or on its parent's children); the node's deletion fires the watch, and
only then is the claim worth trying again. Remembering those nodes lets a retry skip
the nodes still held instead of asking ZooKeeper about every pending partition again.

Thread safety: ``mark_busy`` runs on the agent thread, ``freed`` on kazoo's event
thread. A deletion can fire between our look (which found the node) and ``mark_busy``;
``freed`` therefore remembers what went since the attempt began (``begin``), and
``mark_busy`` refuses those. Everything is under one lock held for a few set operations.

Safety net: watches die with their session (``reset`` on session loss), and anything
remembered longer than ``RECHECK_AFTER_S`` is looked at again, so a watch lost by any
other path can delay a claim by that much but never block it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

#: Re-examine nodes believed busy after this long even without an event (level-
#: triggered safety net, like the agent's periodic resync).
RECHECK_AFTER_S = 10.0


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


class BusyOwners:
    def __init__(
        self,
        recheck_after_s: float = RECHECK_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._recheck_after_s = recheck_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._busy: dict[str, float] = {}
        self._freed: set[str] = set()

    def begin(self, paths: Iterable[str]) -> None:
        """A claim attempt of ``paths`` starts: forget older events of them (and of
        their parents)."""
        with self._lock:
            for path in paths:
                self._freed.discard(path)
                self._freed.discard(_parent(path))

    def mark_busy(self, path: str) -> None:
        """The attempt found ``path`` held by another session and armed a watch on it
        or on its parent's children."""
        with self._lock:
            if path not in self._freed and _parent(path) not in self._freed:
                self._busy[path] = self._clock()

    def freed(self, path: str) -> None:
        """A watch fired on ``path`` (kazoo's thread): the node itself, or the parent
        whose children changed. Whatever it covers is worth trying again."""
        with self._lock:
            self._freed.add(path)
            self._busy.pop(path, None)
            for busy in [b for b in self._busy if _parent(b) == path]:
                del self._busy[busy]

    def worth_trying(self, path: str) -> bool:
        """False while ``path`` is known held and its watch has not fired."""
        with self._lock:
            since = self._busy.get(path)
            if since is None:
                return True
            if self._clock() - since >= self._recheck_after_s:
                del self._busy[path]
                return True
            return False

    def reset(self) -> None:
        """Watches are gone (session lost): believe nothing."""
        with self._lock:
            self._busy.clear()
            self._freed.clear()
