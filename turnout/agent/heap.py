"""The garbage collector of a process Turnout owns: ``turnout agent run`` and ``turnout
mirror run|consume``. Never called for an agent embedded in a service, whose heap is the
service's to tune.

CPython's full collection walks every tracked object. A started agent's process holds
some hundred thousand objects that live as long as it does (modules, classes, pydantic
schemas, the CLI's and the agent's set-up), and consuming makes full collections
frequent: a fetched record is a tracked object that often outlives the young
generations while it waits its turn, so the old generation fills quickly. Measured on a
million 100-byte records, those collections took about 0.1 s, an eighth of the run
(docs/performance.md, "Throughput").

``freeze_start_up`` moves everything alive at that moment into the permanent
generation, which collections skip: garbage left by the start-up is collected first, and
objects created afterwards are collected as before. Called before the agent is built, so
nothing it creates (consumers, threads, work managers it may later replace) is frozen.
"""

from __future__ import annotations

import gc


def freeze_start_up() -> int:
    """Collect the start-up's garbage, then freeze what is left; how many objects were
    frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
