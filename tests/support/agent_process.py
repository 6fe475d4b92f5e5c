"""An agent in its own process, for the tests that kill, freeze or stop one: the one script.

    python -m tests.support.agent_process --deployment D --colour C --instance I
        (--events DIR [--work-s S] | --processed FILE [--hang 3,7])
        [--ordering O [--workers N]] [--commit-interval S] <other turnout agent run options>

The handler:
- ``--events DIR``: the verify toolkit's handler (sleeping ``--work-s`` per record), with
  the process's event log in DIR as the agent's observer, for the history checker;
- ``--processed FILE``: appends each record's offset to FILE when its handler starts;
  records whose offset is in ``--hang`` never finish, so they stay in flight until the
  process dies.

The dispatcher: without ``--ordering`` the agent runs exactly the CLI's code path
(``build_config`` + ``run_until_signalled``). With it, the work manager
(``--ordering``, ``--workers``), which ``turnout agent run`` cannot select, under the same
stop on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from pathlib import Path

from turnout.agent import Agent, AgentConfig, AgentObserver, Handler, Record, logs
from turnout.agent.cli import build_config, run_until_signalled
from turnout.agent.work import Ordering, WorkConfig, work_manager_factory
from turnout.verify import EventLog, make_verifying_handler

#: What a SIGTERMed agent gets to drain, commit and release: well under a second idle;
#: the tests' own wait for the process is longer.
STOP_TIMEOUT_S = 20.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.support.agent_process")
    handlers = parser.add_mutually_exclusive_group(required=True)
    handlers.add_argument("--events", type=Path, help="directory of the verify event logs")
    handlers.add_argument("--processed", type=Path, help="file the handler appends offsets to")
    parser.add_argument("--work-s", type=float, default=0.0, help="with --events: per record")
    parser.add_argument("--hang", default="", help="with --processed: offsets never finished")
    for name in ("deployment", "colour", "instance"):
        parser.add_argument(f"--{name}", required=True)
    for name in ("zookeeper", "kafka", "offset-store"):
        parser.add_argument(f"--{name}")
    parser.add_argument("--session-timeout", type=float)
    parser.add_argument("--fence-margin", type=float)
    parser.add_argument("--commit-interval", type=float, default=0.5)
    parser.add_argument("--ordering", type=Ordering, help="run the work manager in this mode")
    parser.add_argument("--workers", type=int, default=1, help="with --ordering")
    return parser


def _appending_handler(path: Path, hang: set[int]) -> Handler:
    sink = path.open("a", encoding="utf-8")
    lock = threading.Lock()
    never = threading.Event()

    def handler(record: Record) -> None:
        with lock:
            sink.write(f"{record.offset}\n")
            sink.flush()
        if record.offset in hang:
            never.wait()

    return handler


def _run_work_manager(
    config: AgentConfig, handler: Handler, work: WorkConfig, observer: AgentObserver | None
) -> int:
    # Blocked before the agent starts its threads, so they inherit the mask and the
    # signals wait here for sigwait instead of interrupting one of them.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    agent = Agent(
        config, handler, dispatcher_factory=work_manager_factory(work), observer=observer
    ).start()
    signal.sigwait(stop_signals)
    return 0 if agent.stop(STOP_TIMEOUT_S) else 1


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    config = build_config(
        deployment=args.deployment,
        colour=args.colour,
        instance=args.instance,
        zookeeper=args.zookeeper,
        kafka=args.kafka,
        offset_store=args.offset_store,
        session_timeout_s=args.session_timeout,
        fence_margin_s=args.fence_margin,
        commit_interval_s=args.commit_interval,
    )
    logs.configure("INFO", json_lines=True)
    logging.getLogger("turnout.agent.kafka").setLevel(logging.ERROR)
    with contextlib.ExitStack() as resources:
        handler: Handler
        observer: AgentObserver | None = None
        if args.events is not None:
            log = resources.enter_context(EventLog.in_directory(args.events))
            handler = make_verifying_handler(log, args.instance, args.colour, work_s=args.work_s)
            observer = log.bind(args.instance, args.colour)
        else:
            hang = {int(offset) for offset in args.hang.split(",") if offset}
            handler = _appending_handler(args.processed, hang)
        if args.ordering is None:
            return run_until_signalled(
                config, handler, stop_timeout_s=STOP_TIMEOUT_S, observer=observer
            )
        work = WorkConfig(ordering=args.ordering, workers=args.workers)
        return _run_work_manager(config, handler, work, observer)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
