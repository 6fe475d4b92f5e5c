"""One set of metrics per Prometheus registry, built on first use.

An agent replaces its work manager (and a processor's runner) with each processing
settings version; their metrics must carry on in the agent's registry rather than be
registered twice (which prometheus_client refuses).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from prometheus_client import CollectorRegistry

T = TypeVar("T")

_NUMBERS = itertools.count()


class PerRegistry(Generic[T]):
    """``per_registry(registry)``: the set built by ``build`` for ``registry`` (built now
    if it has none yet).

    The set is kept on the registry itself, so it lives exactly as long as the registry.
    A global map keyed weakly by registry would keep both for good: a set reaches back
    to its registry (its collector reads the agent's work manager, which holds the
    agent's metrics), and a weak key whose value leads to it never goes."""

    def __init__(self, build: Callable[[CollectorRegistry], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._attribute = f"_turnout_metric_set_{next(_NUMBERS)}"

    def __call__(self, registry: CollectorRegistry) -> T:
        with self._lock:
            found = getattr(registry, self._attribute, None)
            if found is None:
                found = self._build(registry)
                setattr(registry, self._attribute, found)
            return cast(T, found)
