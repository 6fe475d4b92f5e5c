"""One set of metrics per Prometheus registry, built on first use.

An agent replaces its work manager (and a processor's runner) with each processing
settings version; their metrics must carry on in the agent's registry rather than be
registered twice (which prometheus_client refuses).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry

T = TypeVar("T")


class PerRegistry(Generic[T]):
    """``per_registry(registry)``: the set built by ``build`` for ``registry`` (built now
    if it has none yet). Held weakly: a registry dropped takes its set with it."""

    def __init__(self, build: Callable[[CollectorRegistry], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._sets: weakref.WeakKeyDictionary[CollectorRegistry, T] = weakref.WeakKeyDictionary()

    def __call__(self, registry: CollectorRegistry) -> T:
        with self._lock:
            found = self._sets.get(registry)
            if found is None:
                found = self._sets[registry] = self._build(registry)
            return found
