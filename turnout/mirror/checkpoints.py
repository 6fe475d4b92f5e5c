"""Checkpoints: chosen consumer groups' translated offsets kept committed on the target.

Every ``CHECKPOINT_INTERVAL_S`` a mirror agent with ``checkpoint_groups`` reads the
mirror's offset syncs (``sync_topic``) and, per group, its committed source offsets,
translates them (``translation``) and commits them on the TARGET cluster to the group
named by ``checkpoint_group_template`` (``{group}``: the same name). Two rules, pure in
``checkpoint_commits`` and ``may_checkpoint``:

- a target group's offset never moves backwards: a partition is committed only where it
  has no offset yet or the translation is past it (a consumer that already read further
  on the target keeps its place);
- a target group with active members is never written: its consumers own their offsets
  (and Kafka refuses an offset change of a group with members anyway).

A partition whose translation is unknown (no sync at or below the group's position) is
left alone. Each tick is independent: a cluster that does not answer makes the tick log
a warning and try again at the next.

States of the checkpointer (one daemon thread per mirror agent)::

    stopped ──start──▶ waiting ──interval passed──▶ checkpointing (every group, in turn)
        ──▶ waiting;  waiting or checkpointing ──stop──▶ stopped (after the current
        group, waited for at most ``STOP_TIMEOUT_S``)

Every instance of a mirror deployment checkpoints the same groups to the same values
(they read the same syncs); two instances a sync apart could in principle commit an
older translation just after a newer one (the backwards check and the commit are two
round trips), which the next tick corrects.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from turnout.agent.processors.output_target import TargetPartition
from turnout.mirror.sync_topic import read_syncs
from turnout.mirror.translation import (
    TRANSLATE_TIMEOUT_S,
    ClusterUnreachable,
    TranslatedPartition,
    group_positions,
    translate_positions,
)

log = logging.getLogger(__name__)

#: How often the groups' offsets are translated and committed: a consumer moved to the
#: target starts at most this far behind the group's source position (plus the syncs'
#: own lag), against a few admin round trips per group per interval.
CHECKPOINT_INTERVAL_S = 5.0
#: How long stopping waits for a tick in progress: a few admin round trips.
STOP_TIMEOUT_S = 4 * TRANSLATE_TIMEOUT_S
#: The default target group name: the source group's own.
SAME_GROUP = "{group}"


def target_group(template: str, group: str) -> str:
    return template.replace("{group}", group)


def checkpoint_commits(
    translated: Sequence[TranslatedPartition], current: Mapping[TargetPartition, int]
) -> dict[TargetPartition, int]:
    """The target offsets to commit: translated ones past the target group's own."""
    commits = {}
    for row in translated:
        if row.target_offset is None:
            continue
        where = (row.target_topic, row.partition)
        if row.target_offset > current.get(where, -1):
            commits[where] = row.target_offset
    return commits


def may_checkpoint(members: int) -> bool:
    """Whether a target group with ``members`` active members may be written."""
    return members == 0


class Checkpointer:
    """Keeps groups' translated offsets committed on the target (see the module)."""

    def __init__(
        self,
        source: str,
        target: str,
        deployment: str,
        groups: Sequence[str],
        *,
        template: str = SAME_GROUP,
        interval_s: float = CHECKPOINT_INTERVAL_S,
        source_client: Mapping[str, str] | None = None,
        target_client: Mapping[str, str] | None = None,
    ) -> None:
        self._source = source
        #: librdkafka properties of the source cluster's clients (its security, say).
        self._source_client = dict(source_client or {})
        self._target = target
        #: The same for the target cluster's.
        self._target_client = dict(target_client or {})
        self._deployment = deployment
        self._groups = list(groups)
        self._template = template
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mirror-checkpoints", daemon=True)

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)

    def checkpoint_once(self) -> None:
        """One tick: every group translated and committed where the rules allow."""
        table = read_syncs(self._target, self._deployment, self._target_client)
        admin = AdminClient({"bootstrap.servers": self._target, **self._target_client})
        for group in self._groups:
            name = target_group(self._template, group)
            members = _member_count(admin, name)
            if not may_checkpoint(members):
                log.info("checkpoint of %s skipped: %d active members on the target", name, members)
                continue
            committed = group_positions(self._source, group, self._source_client)
            rows = translate_positions(committed, table)
            on_target = group_positions(self._target, name, self._target_client)
            commits = checkpoint_commits(rows, on_target)
            if commits:
                _commit(admin, name, commits)
                log.info("checkpointed %s: %d partitions", name, len(commits))

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.checkpoint_once()
            except (KafkaException, LookupError, ClusterUnreachable, TimeoutError) as exc:
                log.warning("checkpoint tick failed (next in %.0f s): %s", self._interval_s, exc)


def _member_count(admin: AdminClient, group: str) -> int:
    described = admin.describe_consumer_groups([group], request_timeout=TRANSLATE_TIMEOUT_S)
    try:
        return len(described[group].result(TRANSLATE_TIMEOUT_S).members or [])
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND:
            return 0
        raise


def _commit(admin: AdminClient, group: str, commits: Mapping[TargetPartition, int]) -> None:
    offsets = [
        TopicPartition(topic, partition, offset) for (topic, partition), offset in commits.items()
    ]
    request = [ConsumerGroupTopicPartitions(group, offsets)]
    future = admin.alter_consumer_group_offsets(request, request_timeout=TRANSLATE_TIMEOUT_S)
    future[group].result(TRANSLATE_TIMEOUT_S)
