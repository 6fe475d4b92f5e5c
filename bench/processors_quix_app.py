"""The processors benchmark's pipeline in quixstreams, run by ``bench.processors_quix`` with
the Python of quixstreams' own virtual environment (it pins a confluent-kafka of its own).

``python processors_quix_app.py --broker B --input IN --output OUT --group G
--guarantee at-least-once|exactly-once --field F --state-dir DIR`` reads IN from its
beginning, parses each JSON value, sets field F to ``"quix"``, and produces the result
with the same key to OUT, until SIGTERM (quixstreams stops gracefully on it: the last
checkpoint is committed). It prints JSON lines on stdout: ``{"event": "go", ...}`` with
``time.monotonic_ns()`` right before the application starts (the measuring process
shares the clock), its settings and the library versions; ``{"event": "stopped"}`` at the
end. It imports nothing of the benchmark's (that environment has no Turnout).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from importlib.metadata import version
from typing import Any

from quixstreams import Application

#: quixstreams' own defaults, said here so that the JSON reports them.
COMMIT_INTERVAL_S = 5.0
COMMIT_EVERY = 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    for name in ("broker", "input", "output", "group", "guarantee", "field", "state-dir"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args(argv)
    app = Application(
        broker_address=args.broker,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        processing_guarantee=args.guarantee,
        commit_interval=COMMIT_INTERVAL_S,
        commit_every=COMMIT_EVERY,
        state_dir=args.state_dir,
        auto_create_topics=False,
        use_changelog_topics=False,
        loglevel=logging.WARNING,
    )
    source = app.topic(args.input, value_deserializer="json", key_deserializer="bytes")
    sink = app.topic(args.output, value_serializer="json", key_serializer="bytes")
    field = args.field

    def add_field(document: dict[str, Any]) -> dict[str, Any]:
        document[field] = "quix"
        return document

    app.dataframe(source).apply(add_field).to_topic(sink)
    go = {
        "event": "go",
        "mono_ns": time.monotonic_ns(),
        "settings": {
            "processing_guarantee": args.guarantee,
            "commit_interval_s": COMMIT_INTERVAL_S,
            "commit_every": COMMIT_EVERY,
            "auto_offset_reset": "earliest",
        },
        "versions": {
            "quixstreams": version("quixstreams"),
            "confluent_kafka": version("confluent-kafka"),
            "python": sys.version.split()[0],
        },
    }
    print(json.dumps(go), flush=True)
    app.run()
    print(json.dumps({"event": "stopped"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
