"""Handlers for ``turnout agent run`` in tests (importable as tests.support.agent_handlers)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from pathlib import Path

from turnout.agent import Output, Outputs, Record, batch_handler, processor


def append_to_file(record: Record) -> None:
    """Append ``<partition> <offset> <value>`` to the file named by TURNOUT_TEST_RECORDS_FILE."""
    value = (record.value or b"").decode(errors="replace")
    with open(os.environ["TURNOUT_TEST_RECORDS_FILE"], "a", encoding="utf-8") as sink:
        sink.write(f"{record.partition} {record.offset} {value}\n")


def append_source_position(record: Record) -> None:
    """Append ``<partition> <source offset> <value>`` to TURNOUT_TEST_RECORDS_FILE: a copy's
    source offset from the mirror's coordinate headers, any other record's own offset
    (a migrating colour's records, on either cluster, in one numbering)."""
    from turnout.mirror.source_coordinates import source_offset

    copied = source_offset(record)
    offset = record.offset if copied is None else copied
    value = (record.value or b"").decode(errors="replace")
    with open(os.environ["TURNOUT_TEST_RECORDS_FILE"], "a", encoding="utf-8") as sink:
        sink.write(f"{record.partition} {offset} {value}\n")


class Poisoned(Exception):
    """What ``fail_poison`` raises for a record it cannot handle."""


def fail_poison(record: Record) -> None:
    """``append_to_file``, but a record whose value starts with ``poison`` always fails."""
    if (record.value or b"").startswith(b"poison"):
        raise Poisoned(f"cannot handle offset {record.offset}")
    append_to_file(record)


async def append_async(record: Record) -> None:
    """``append_to_file`` as a coroutine function (the agent runs it as tasks)."""
    await asyncio.sleep(0)
    append_to_file(record)


@batch_handler
def append_batch(records: Sequence[Record]) -> None:
    """``append_to_file`` for each record of a batch (marked: the CLI passes batches)."""
    for record in records:
        append_to_file(record)


@processor
def enrich(record: Record, out: Outputs) -> Output:
    """A processor: ``<value>|enriched`` to the output ``enriched``, keyed as the input."""
    return Output("enriched", (record.value or b"") + b"|enriched")


#: ``enrich_slowly``'s time per record: a worker is then nearly always inside a
#: transaction, so a freeze or a kill lands in one.
SLOW_RECORD_S = 0.005


@processor
def enrich_slowly(record: Record, out: Outputs) -> Output:
    """``enrich``, taking ``SLOW_RECORD_S`` per record."""
    time.sleep(SLOW_RECORD_S)
    return Output("enriched", (record.value or b"") + b"|enriched")


#: Names the file that holds ``enrich_held`` inside its call while it exists: a test's
#: way of freezing a process whose worker is certainly in an open transaction.
HOLD_FILE_ENV = "TURNOUT_TEST_HOLD_FILE"


def inside_marker(hold: Path) -> Path:
    """The file ``enrich_held`` creates once a call of it is held."""
    return hold.with_name(hold.name + ".inside")


#: How often a held call looks whether the hold file is gone.
HOLD_RECHECK_S = 0.01


@processor
def enrich_held(record: Record, out: Outputs) -> Output:
    """``enrich_slowly``, held inside the call while the file named by ``HOLD_FILE_ENV``
    exists (marking that with ``inside_marker``)."""
    named = os.environ.get(HOLD_FILE_ENV)
    if named:
        hold = Path(named)
        if hold.exists():
            inside_marker(hold).touch()
            while hold.exists():
                time.sleep(HOLD_RECHECK_S)
    return enrich_slowly(record, out)


class Refused(Exception):
    """What ``enrich_except_sevens`` raises for an input it refuses."""


@processor
def enrich_except_sevens(record: Record, out: Outputs) -> Output:
    """``enrich``, but an input whose value ends in ``7`` (ids 7, 17, 27, ...) always
    fails, after sending an output first (which must never be committed)."""
    value = record.value or b""
    if value.endswith(b"7"):
        out.send("enriched", value + b"|partial")
        raise Refused(f"refusing {value!r}")
    return Output("enriched", value + b"|enriched")


@processor
async def enrich_async(record: Record, out: Outputs) -> Output:
    """``enrich`` as a coroutine function."""
    await asyncio.sleep(0)
    return Output("enriched", (record.value or b"") + b"|enriched")


@processor
@batch_handler
async def enrich_batch_async(records: Sequence[Record], out: Outputs) -> list[Output]:
    """``enrich`` for a batch, as a coroutine function (keys given: a batch has none)."""
    await asyncio.sleep(0)
    return [Output("enriched", (r.value or b"") + b"|enriched", key=r.key) for r in records]


#: ``enrich_slower_than_drain``'s time per record: longer than the drain timeout the
#: drain-timeout test gives its directive, so a release always finds a run in its
#: transaction and gives up waiting for it.
SLOWER_THAN_DRAIN_S = 2.0


@processor
def enrich_slower_than_drain(record: Record, out: Outputs) -> Output:
    """``enrich``, taking ``SLOWER_THAN_DRAIN_S`` per record."""
    time.sleep(SLOWER_THAN_DRAIN_S)
    return Output("enriched", (record.value or b"") + b"|enriched")
