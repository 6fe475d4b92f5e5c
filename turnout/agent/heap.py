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

``space_young_collections`` raises the youngest generation's threshold to
``YOUNG_COLLECTION_THRESHOLD``. A handler call on a run of records keeps several tracked
objects per record alive until it returns (the records, a processor's outputs and their
writes, its parsed documents): some 20,000 for a 5,000-record batch. At CPython's
default (a young collection every 700 net allocations) a call sets off dozens of young
collections that find all of them alive and promote them, so the older generations fill
and are walked too, though none of it is garbage: the objects die by reference count
when the call returns. Cyclic garbage, the only kind the collector frees, waits at most
that many allocations longer.
"""

from __future__ import annotations

import gc

#: Net allocations of tracked objects between young collections: more than a
#: 5,000-record batch's objects (above), so that most runs end, and free them, before a
#: collection looks at them. CPython's default is 700.
YOUNG_COLLECTION_THRESHOLD = 50_000


def freeze_start_up() -> int:
    """Collect the start-up's garbage, then freeze what is left; how many objects were
    frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def space_young_collections() -> None:
    """Raise the youngest generation's threshold (see the module); the older ones keep
    theirs."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)
