"""The processors benchmark's pipeline as Turnout processors, and the process that runs
them: ``python -m bench.processors_turnout_app HANDLER [turnout agent run options]``.

It imports the agent (so that the start is timed after the imports, as quixstreams'
side is), prints the ``go`` line ``bench.processors_side`` reads, and runs ``turnout
agent run HANDLER ...``: the CLI's own code path, driven by the deployment's processing
settings. ``BENCH_PROCESSED_BY`` (the colour, in the switch scenario) is the value of the
field the transform adds; ``BENCH_PROFILE_DIR`` profiles every thread into that directory
(``processors_profile``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

from bench.processors_data import OUTPUT, transform
from bench.processors_profile import profile_threads
from turnout.agent import Output, Outputs, Record, batch_handler, processor

PROCESSED_BY = os.environ.get("BENCH_PROCESSED_BY", "turnout")


@processor
def transform_record(record: Record, _out: Outputs) -> Output:
    """Per record: the output keeps the input's key (the default)."""
    return Output(OUTPUT, transform(record.value or b"", PROCESSED_BY))


@processor
@batch_handler
def transform_batch(records: Sequence[Record], _out: Outputs) -> list[Output]:
    """Per batch of consecutive records of one lane: each output names its key."""
    return [
        Output(OUTPUT, transform(record.value or b"", PROCESSED_BY), key=record.key)
        for record in records
    ]


def main(argv: list[str]) -> None:
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    if profile_dir:
        profile_threads(Path(profile_dir))
    import turnout.agent.cli
    import turnout.agent.coordination
    import turnout.agent.work.deployment  # noqa: F401  (imported before the clock starts)
    from turnout.cli import main as turnout_main

    go = {
        "event": "go",
        "mono_ns": time.monotonic_ns(),
        "settings": {"handler": argv[0]},
        "versions": {
            "turnout": version("turnout"),
            "confluent_kafka": version("confluent-kafka"),
            "python": sys.version.split()[0],
        },
    }
    print(json.dumps(go), flush=True)
    sys.argv = ["turnout", "agent", "run", *argv]
    turnout_main()


if __name__ == "__main__":
    main(sys.argv[1:])
