"""What a produce does when librdkafka's queue is full: the policy, as pure logic.

librdkafka refuses a message with ``BufferError`` when its queue holds
``queue.buffering.max.messages`` messages (or ``queue.buffering.max.kbytes``). Room comes
back only as delivery reports are served, so a blocked caller serves them itself while
it waits (or waits for whoever holds the serving turn, who is freeing room meanwhile).
The wait is always bounded: by the caller's timeout overall, and by
:data:`QUEUE_FULL_SERVE_S` per slice, between which the deadline and the producer's
state are checked again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from turnout.producer.config import QueueFullPolicy
from turnout.producer.errors import QueueFullError

#: A waiter for queue space re-checks its deadline (and whether the producer closed) at
#: least this often; a slice ends early as soon as a delivery report frees room.
QUEUE_FULL_SERVE_S = 0.1


def wait_for_room(
    retry: Callable[[], None],
    *,
    policy: QueueFullPolicy,
    timeout_s: float,
    serve_for: Callable[[float], None],
    check_usable: Callable[[], None],
    full: str,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """A produce found the queue full (``full`` says which queue, for the error).

    ``raise`` policy: raise :class:`QueueFullError` at once. ``block`` policy: serve
    delivery reports for a slice, then ``retry`` the produce, until it is accepted or
    ``timeout_s`` has passed (then :class:`QueueFullError`). ``check_usable`` raises if
    the producer closed or failed meanwhile; anything ``retry`` raises other than
    ``BufferError`` propagates.
    """
    if policy is QueueFullPolicy.RAISE:
        raise QueueFullError(f"{full} is full")
    deadline = clock() + timeout_s
    while True:
        now = clock()
        if now >= deadline:
            raise QueueFullError(f"{full} stayed full for {timeout_s:g} s")
        check_usable()
        serve_for(min(deadline - now, QUEUE_FULL_SERVE_S))
        try:
            retry()
            return
        except BufferError:
            continue
