"""Whose turn it is to call the agent's Kafka consumer: the agent's thread, or a
fetching worker (``KafkaSource``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CallTurns:
    """Whose turn it is to call the consumer: the agent's thread, or a fetching worker.

    confluent-kafka makes calls on one handle wait for each other, but a waiting caller
    spin-sleeps (``Handle_serialize_enter``) and a worker that polls in a loop starts its
    next poll before the waiter gets in: a commit or a pause from the agent's thread could
    wait for as long as the worker kept fetching. So every call takes a turn here, and the
    agent's thread goes before a fetch that is waiting too (its calls are the rare ones,
    and a release or a claim must not wait behind a stream of polls).
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._busy = False
        self._agent_waiting = 0

    @contextmanager
    def agent(self) -> Iterator[None]:
        with self._changed:
            self._agent_waiting += 1
            while self._busy:
                self._changed.wait()
            self._agent_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            self._done()

    @contextmanager
    def fetch(self) -> Iterator[None]:
        with self._changed:
            while self._busy or self._agent_waiting:
                self._changed.wait()
            self._busy = True
        try:
            yield
        finally:
            self._done()

    def _done(self) -> None:
        with self._changed:
            self._busy = False
            self._changed.notify_all()
