"""``bench.mirror``'s ``migration`` slot: one cross-cluster switch of a consumer deployment.

A topic of ``PARTITIONS`` partitions on the source cluster, under the switch benchmark's
steady keyed load (``bench.switch_load``, a process of its own), copied to the target
cluster by a Turnout mirror (one agent, coordinate headers on). The consumer deployment's
blue colour runs on the source cluster, its green colour on the copies
(``turnout.mirror.migration``); both use the verify toolkit's handler, green's given
each record under its source offset (``source_coordinates``), so one history covers both
clusters. After ``SETTLE_S`` of load the directive makes green live:

- ``switch_ms``: from the directive's write to every partition having a record processed
  by green (``bench.switch_measure.switch_done_ns``);
- ``gap_ms_max``: the longest wait of a ready record in the switch's window
  (``gaps_ms_per_switch``);
- ``lost``, ``duplicates``, ``checker_ok``: the checker over the whole history.

The agents run in this process (one each: the figure is the handover's, not a
throughput); the directives live under fresh deployment names in ``/turnout`` and are
removed at the end, with the topics.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from bench.processors_data import PARTITIONS, create_topics, delete_topics
from bench.switch_load import LoadProcess
from bench.switch_measure import EventTail, gaps_ms_per_switch, switch_done_ns
from bench.waiting import wait_for
from turnout.agent import Agent, AgentConfig, Handler
from turnout.agent.records import Record
from turnout.mirror.assembly import MirrorParts, mirror_parts
from turnout.mirror.migration import Migration, migration_environment
from turnout.mirror.settings import MirrorSettings
from turnout.mirror.source_coordinates import as_source_record, source_offset
from turnout.protocol import Binding, Colour, DeploymentPaths, Directive, Role
from turnout.protocol.crossing import MirrorSide
from turnout.protocol.directives import DirectiveStore
from turnout.verify import EventLog, check, make_verifying_handler, read_events
from turnout.zk import ZkGateway

#: The mirror's source alias: the copies of ``t`` are ``mig.t``.
ALIAS = "mig"
#: Load before the switch: the mirror has copied and synced, green's consumer is warm.
SETTLE_S = 5.0
#: Agents' start, the first claims, the producer's start on a loaded machine.
READY_TIMEOUT_S = 120.0
#: The switch itself, a claim's wait for the mirror included (``CATCH_UP_TIMEOUT_S``).
SWITCH_TIMEOUT_S = 60.0
#: Every acknowledged record processed after the load stopped.
DRAIN_TIMEOUT_S = 120.0
#: An agent's clean stop (its final commits).
STOP_TIMEOUT_S = 15.0


def _in_source_offsets(handler: Handler) -> Handler:
    def handle(record: Record) -> object:
        source = source_offset(record)
        if source is None:
            raise RuntimeError(f"{record.topic}/{record.partition}@{record.offset} is no copy")
        return handler(as_source_record(record, source))

    return handle


def run_migration(zookeeper: str, source: str, target: str, work: Path) -> dict[str, Any]:
    """One switch from the source cluster to the copies under load; the figures."""
    suffix = uuid.uuid4().hex[:8]
    topic, mirror_name, consumer_name = (
        f"bench-migration-{suffix}",
        f"bench-migration-mirror-{suffix}",
        f"bench-migration-{suffix}",
    )
    log_dir = work / "migration"
    log_dir.mkdir(parents=True, exist_ok=True)
    zk = ZkGateway(zookeeper)
    zk.start()
    stores = {
        name: DirectiveStore(zk, DeploymentPaths("/turnout", name))
        for name in (mirror_name, consumer_name)
    }
    for name, store in stores.items():
        store.create(
            Directive.model_validate(
                {
                    "epoch": 1,
                    "deployment": name,
                    "live": Binding(group=f"{name}-group", topics=(topic,)),
                    "roles": {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
                }
            )
        )
    create_topics(source, topic)
    events = EventLog(log_dir / "events-migration.jsonl")
    agents: list[Agent] = []
    load: LoadProcess | None = None
    parts: MirrorParts | None = None

    def config(name: str, instance: str, colour: Colour, kafka: str) -> AgentConfig:
        return AgentConfig(
            deployment=name, colour=colour, instance=instance, zookeeper=zookeeper, kafka=kafka
        )

    try:
        mirror_config = config(mirror_name, "mirror-1", Colour.BLUE, source)
        parts = mirror_parts(
            mirror_config,
            MirrorSettings(target_kafka=target, source_alias=ALIAS, coordinate_headers=True),
        )
        agents.append(Agent(mirror_config, parts.handler, code_policy=parts.code_policy).start())
        colours = {
            Colour.BLUE: (source, Migration(mirror_name, MirrorSide.SOURCE, target)),
            Colour.GREEN: (target, Migration(mirror_name, MirrorSide.COPIES, source)),
        }
        for colour, (kafka, migration) in colours.items():
            instance = f"{colour}-1"
            handler: Handler = make_verifying_handler(events, instance, str(colour))
            if colour is Colour.GREEN:
                handler = _in_source_offsets(handler)
            agents.append(
                Agent(
                    config(consumer_name, instance, colour, kafka),
                    handler,
                    observer=events.bind(instance, colour),
                    environment=migration_environment(migration),
                ).start()
            )
        blue = agents[1]
        wait_for(lambda: len(blue.owned()) == PARTITIONS, READY_TIMEOUT_S, "blue to own all")
        load = LoadProcess(source, topic, work / "migration-acked.txt")
        load.wait_started(READY_TIMEOUT_S)
        time.sleep(SETTLE_S)
        green = agents[2]
        wait_for(lambda: bool(green.status().ready), READY_TIMEOUT_S, "green to be ready (warm)")
        tail = EventTail(log_dir)
        started = time.monotonic_ns()
        stores[consumer_name].update(
            lambda d: d.model_copy(
                update={"roles": {Colour.BLUE: Role.STANDBY, Colour.GREEN: Role.LIVE}}
            )
        )
        done: list[int] = []

        def switched() -> bool:
            at = switch_done_ns(tail.poll(), {"green-1"}, started, PARTITIONS)
            if at is not None:
                done.append(at)
            return at is not None

        wait_for(switched, SWITCH_TIMEOUT_S, "green to process every partition")
        time.sleep(SETTLE_S)
        acked = load.stop()
        wait_for(lambda: tail.drained(acked), DRAIN_TIMEOUT_S, "every record to be processed")
    finally:
        if load is not None:
            load.kill()
        for agent in reversed(agents):
            agent.stop(STOP_TIMEOUT_S)
        if parts is not None:
            parts.stop()
        events.close()
        for name in stores:
            zk.delete(DeploymentPaths("/turnout", name).base, recursive=True)
        zk.stop()
        delete_topics(source, topic)
        delete_topics(target, f"{ALIAS}.{topic}")
    report = check(
        load.produced(), read_events(log_dir / "events-migration.jsonl"), planned_only=True
    )
    gaps = gaps_ms_per_switch(acked, tail.poll(), [started])
    return {
        "switch_ms": round((done[0] - started) / 1e6, 1),
        "gap_ms_max": round(max(gaps, default=0.0), 1),
        "partitions": PARTITIONS,
        "lost": report.lost.count,
        "duplicates": report.duplicates.extra_copies,
        "acked": report.acked,
        "checker_ok": report.ok,
    }
