"""Marking what a handler is, for an agent that is given only the function
(``turnout agent run package.module:function``).

A handler is called with one ``Record`` unless it is marked ``@batch_handler``: then
with a read-only sequence of consecutive records of one ordering lane (a partition, or a
key in ``key`` mode), as the work manager's ``batch_handler`` is. Whether it is a
coroutine function is read from the function itself (``inspect.iscoroutinefunction``);
nothing needs marking for that. This module imports nothing heavy: ``turnout agent
--help`` loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

#: The attribute ``batch_handler`` sets on the function.
BATCH_MARK = "__turnout_batch_handler__"

F = TypeVar("F", bound=Callable[..., object])


def batch_handler(function: F) -> F:
    """Mark ``function`` as taking a batch of records rather than one."""
    setattr(function, BATCH_MARK, True)
    return function


def is_batch_handler(function: object) -> bool:
    return bool(getattr(function, BATCH_MARK, False))
