"""An agent subprocess for kill/stop tests: ``turnout agent run`` with the verify log.

    python -m tests.support.agent_process --events DIR [--work-s S] <turnout agent run options>

Runs exactly the CLI's code path (``build_config`` + ``run_until_signalled``), with the
verifying handler and the instance's event log as the agent's observer.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from turnout.agent import logs
from turnout.agent.cli import build_config, run_until_signalled
from turnout.verify import EventLog, make_verifying_handler


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--work-s", type=float, default=0.0)
    for name in ("deployment", "colour", "instance", "zookeeper", "kafka", "offset-store"):
        parser.add_argument(f"--{name}", required=name in ("deployment", "colour", "instance"))
    parser.add_argument("--session-timeout", type=float)
    parser.add_argument("--fence-margin", type=float)
    args = parser.parse_args(argv)
    config = build_config(
        deployment=args.deployment,
        colour=args.colour,
        instance=args.instance,
        zookeeper=args.zookeeper,
        kafka=args.kafka,
        offset_store=args.offset_store,
        session_timeout_s=args.session_timeout,
        fence_margin_s=args.fence_margin,
        commit_interval_s=0.5,
    )
    logs.configure("INFO", json_lines=True)
    logging.getLogger("turnout.agent.kafka").setLevel(logging.ERROR)
    with EventLog.in_directory(args.events) as log:
        handler = make_verifying_handler(log, args.instance, args.colour, work_s=args.work_s)
        return run_until_signalled(
            config, handler, stop_timeout_s=20.0, observer=log.bind(args.instance, args.colour)
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
