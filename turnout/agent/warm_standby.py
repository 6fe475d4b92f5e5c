"""What a warm standby gets ready ahead of a switch besides its consumer: the work its
dispatcher can do before it owns anything (an exactly-once processor's transactional
producers, created and connected).

The reconciler knows what a standby expects to claim once its colour goes live (the live
binding's group and the partitions the colour's members would be assigned); the
dispatcher knows what it could prepare for them. ``WarmStandby`` joins the two, in the
agent thread::

    no request ──request(group, partitions)──▶ requested: the registered preparation,
        if any, runs now with it
    requested ──register(prepare) (a dispatcher built for new settings)──▶ the new
        preparation runs at once with the last request
    requested ──request(None) (the colour took up a binding, or no directive)──▶ no
        request (nothing runs; what was prepared is the dispatcher's to use or close)

A preparation that raises is logged and left: the switch then creates what it needs
itself, as without preparation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from turnout.protocol.partitions import PartitionId

#: A dispatcher's preparation: the live group and the partitions expected to be claimed.
Preparation = Callable[[str, Sequence[PartitionId]], None]

log = logging.getLogger("turnout.agent")


class WarmStandby:
    """The last standby request and the dispatcher's preparation (see the module)."""

    def __init__(self) -> None:
        self._prepare: Preparation | None = None
        self._request: tuple[str, tuple[PartitionId, ...]] | None = None

    def register(self, prepare: Preparation) -> None:
        """The current dispatcher's preparation (replacing the previous dispatcher's)."""
        self._prepare = prepare
        self._run()

    def request(self, group: str | None, partitions: Sequence[PartitionId] = ()) -> None:
        """Expect ``partitions`` of ``group`` (None: expect nothing any more)."""
        request = None if group is None else (group, tuple(sorted(partitions)))
        if request == self._request:
            return
        self._request = request
        self._run()

    def _run(self) -> None:
        if self._prepare is None or self._request is None:
            return
        group, partitions = self._request
        try:
            self._prepare(group, partitions)
        except Exception:
            log.exception("preparing the warm standby for %s failed", group)
