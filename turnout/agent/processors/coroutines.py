"""Coroutine processors: an ``async def`` processor (per record or per batch), recognised
from the function as the work manager recognises coroutine handlers, and run by either
guarantee's runner as a plain call.

Each call runs the processor's coroutine to its end on an event loop of the calling
worker thread's own (made at the thread's first call, kept for its later ones, so that
clients bound to a loop, an HTTP session say, can be kept between calls); the runners
then write its outputs exactly as a plain processor's. So both guarantees keep every
property they give a plain processor, unchanged: under ``exactly_once`` a partition's
records still run one at a time inside its transaction, and under ``at_least_once`` an
input still completes only after its outputs are acknowledged. The cost: concurrency is
``workers`` calls at a time (one per worker thread), as for a plain processor, not one
task per record on a shared loop; an attempt that overruns ``attempt_timeout_ms`` is
taken over by the work manager's watchdog, as a plain call is.

Loops: made lazily per thread, closed by ``close`` once the work manager's workers have
stopped (a loop still running then, a watchdog's abandoned call, is left to end).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable

from turnout.agent.processors.contract import Outputs

#: A processor as its runner calls it.
PlainProcessor = Callable[[object, Outputs], object]


class CoroutineProcessor:
    """A coroutine processor as a plain one (see the module docstring)."""

    def __init__(self, function: Callable[[object, Outputs], Awaitable[object]]) -> None:
        self._function = function
        self._local = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()
        functools.update_wrapper(self, function)

    def __call__(self, unit: object, out: Outputs) -> object:
        loop: asyncio.AbstractEventLoop | None = getattr(self._local, "loop", None)
        if loop is None:
            loop = self._local.loop = asyncio.new_event_loop()
            with self._lock:
                self._loops.append(loop)
        return loop.run_until_complete(self._function(unit, out))

    def close(self) -> None:
        """Close every worker thread's loop that is not running a call."""
        with self._lock:
            loops, self._loops = self._loops, []
        for loop in loops:
            if not loop.is_running():
                loop.close()


def plain_processor(
    function: Callable[..., object],
) -> tuple[PlainProcessor, Callable[[], None] | None]:
    """``function`` as its runner calls it, and what to call once its workers stopped
    (None: nothing, for a plain function)."""
    if not inspect.iscoroutinefunction(function):
        return function, None
    wrapped = CoroutineProcessor(function)
    return wrapped, wrapped.close
