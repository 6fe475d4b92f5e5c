"""Handlers for ``turnout agent run`` in tests (importable as tests.support.agent_handlers)."""

from __future__ import annotations

import os

from turnout.agent import Record


def append_to_file(record: Record) -> None:
    """Append ``<partition> <offset> <value>`` to the file named by TURNOUT_TEST_RECORDS_FILE."""
    value = (record.value or b"").decode(errors="replace")
    with open(os.environ["TURNOUT_TEST_RECORDS_FILE"], "a", encoding="utf-8") as sink:
        sink.write(f"{record.partition} {record.offset} {value}\n")
