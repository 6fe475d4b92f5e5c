"""Record handlers for the agents of the dashboard's end-to-end test."""

from __future__ import annotations

import time

from turnout.agent.records import Record

#: A little work per record, so instances show a processing rate and some lag under load.
WORK_PER_RECORD_S = 0.002


def handle(record: Record) -> None:
    """Accept every record after a token amount of work."""
    del record
    time.sleep(WORK_PER_RECORD_S)
