"""An agent with the work manager in its own process, for crash tests.

    python -m tests.integration.work.agent_proc --zookeeper Z --kafka K --instance I \
        --processed FILE [--hang 3,7]

Every record's offset is appended to FILE when its handler starts; records whose offset is
in ``--hang`` never finish (their handler blocks), so they stay unfinished until the
process dies. ``unordered`` ordering lets every other record finish past them.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from tests.support.agent_kit import DEPLOYMENT, FENCE_MARGIN_S, SESSION_TIMEOUT_S
from turnout.agent import Agent, AgentConfig
from turnout.agent.records import Record
from turnout.agent.work import Ordering, WorkConfig, work_manager_factory
from turnout.protocol import Colour

#: Commit often so the test sees the gap quickly.
COMMIT_INTERVAL_S = 0.2


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--zookeeper", required=True)
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--processed", type=Path, required=True)
    parser.add_argument("--hang", default="")
    args = parser.parse_args(argv)
    hang = {int(o) for o in args.hang.split(",") if o}
    never = threading.Event()
    sink = args.processed.open("a", encoding="utf-8")
    lock = threading.Lock()

    def handler(record: Record) -> None:
        with lock:
            sink.write(f"{record.offset}\n")
            sink.flush()
        if record.offset in hang:
            never.wait()

    config = AgentConfig(
        deployment=DEPLOYMENT,
        colour=Colour.BLUE,
        instance=args.instance,
        zookeeper=args.zookeeper,
        kafka=args.kafka,
        session_timeout_s=SESSION_TIMEOUT_S,
        fence_margin_s=FENCE_MARGIN_S,
        commit_interval_s=COMMIT_INTERVAL_S,
    )
    work = WorkConfig(ordering=Ordering.UNORDERED, workers=4)
    agent = Agent(config, handler, dispatcher_factory=work_manager_factory(work)).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    agent.stop(5.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
