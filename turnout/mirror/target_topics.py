"""The mirror's routes: each source topic's target topic, made like its source on first use.

``MirrorRoutes`` is the processors' ``Routes`` of a mirror (``OutputTarget``): the
"output" a mirror emits to is the source topic's name, and its topic is the target topic
(``naming``). The first record of a source topic looks both topics up:

    unknown ──target missing──▶ create it (source's partitions, allowed configs) ──▶ ready
    unknown ──target exists, at least as many partitions──▶ ready
    unknown ──target cluster does not answer──▶ TargetUnreachableError (retried; for
        TARGET_DOWN_HOLD_S every lookup fails at once with it; nothing was written)
    unknown ──target has fewer partitions──▶ PartitionMismatchError (a PermanentFailure:
        the deployment's failure decision holds the record, and by default stops the
        agent, the reason in its status and log; nothing was written for it)
    ready ──a record of a partition beyond the target's count (partitions were added to
        the source)──▶ the target grown to the source's new count ──▶ ready

A ready topic is not looked up again on the copy path: one admin round trip per topic
per agent, under a lock so that workers do not race to create it. ``sync_configs`` (run
every interval by ``ConfigSync``) sets on each ready target the source's copied configs
that it lacks or has with another value. Only a colour in the LIVE role writes: a
PREVIEW colour's mirror would write to the same target topics, so it is refused.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, NewPartitions
from confluent_kafka.admin._config import ConfigResource, ConfigSource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewTopic

from turnout.agent.processors.routing import NoOutputRoleError
from turnout.mirror.topic_shape import (
    CONFIG_ALLOW_LIST,
    SourceTopicMissingError,
    check_partitions,
    config_changes,
    copied_configs,
    partitions_to_add,
)
from turnout.protocol.mirror import TopicNaming
from turnout.protocol.models import Role

log = logging.getLogger(__name__)

#: One metadata or create round trip on a healthy cluster takes milliseconds; a cluster
#: electing a leader answers within seconds. Past this the record fails and is retried.
ADMIN_TIMEOUT_S = 15.0
#: How often the mirror's producer re-reads the target's metadata (``assembly``): it
#: refuses a partition it does not know yet, so after growing a target topic the mirror
#: waits two of these before writing to the new partitions. Short, since librdkafka's
#: default (five minutes) would stall a grown topic that long; a refresh of a few topics'
#: metadata is one small request.
TARGET_METADATA_REFRESH_MS = 1000
#: After the target cluster did not answer, lookups fail at once for this long instead of
#: each waiting ``ADMIN_TIMEOUT_S`` in turn under the lock (every worker's first record
#: would otherwise queue there past its attempt timeout, with no error to show).
TARGET_DOWN_HOLD_S = 10.0


class TargetTopicNotReadyError(Exception):
    """A target topic another instance just made shows no partitions yet (retried)."""


class TargetUnreachableError(Exception):
    """The target cluster did not answer: the run is retried under the deployment's retry
    policy, then its failure decision applies (by default: stop, this in the status)."""


class _LastClientError:
    """A client's newest error, as its ``error_cb`` reported it."""

    def __init__(self) -> None:
        self.last = ""

    def note(self, error: KafkaError) -> None:
        self.last = error.str()


class TargetTopics:
    """Looks up, creates and checks target topics (see the module docstring)."""

    def __init__(
        self,
        naming: TopicNaming,
        source_admin: Mapping[str, str],
        target_admin: Mapping[str, str],
        *,
        config_allow: frozenset[str] = CONFIG_ALLOW_LIST,
        config_deny: frozenset[str] = frozenset(),
    ) -> None:
        self._naming = naming
        self._source = AdminClient(dict(source_admin))
        #: The target client's newest error of its own (an authentication refused, a TLS
        #: handshake failed): a metadata request that fails says only "transport". Its
        #: own object: a callback bound to ``self`` would be a cycle through the client
        #: that Python's collector cannot see, and keep both alive after the mirror.
        self._target_errors = _LastClientError()
        target_config: dict[str, Any] = {**target_admin, "error_cb": self._target_errors.note}
        self._target = AdminClient(target_config)
        self._config_allow = config_allow
        self._config_deny = config_deny
        self._target_bootstrap = target_admin.get("bootstrap.servers", "")
        #: Why the target did not answer, and until when lookups fail at once for it.
        self._target_down = ""
        self._target_down_until = 0.0
        #: Source topic → (target topic, target partition count), once checked.
        self._ready: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def target_of(self, source_topic: str, partition: int = 0) -> str:
        """The target topic of ``source_topic``, ready to take ``partition``."""
        found = self._ready.get(source_topic)
        if found is not None and partition < found[1]:
            return found[0]
        with self._lock:
            found = self._ready.get(source_topic)
            if found is None or partition >= found[1]:
                found = self._prepare(source_topic, held_before=found is not None)
                self._ready[source_topic] = found
            return found[0]

    def ready(self) -> dict[str, str]:
        """Each source topic made ready so far, and its target topic."""
        with self._lock:
            return {source: target for source, (target, _) in self._ready.items()}

    def sync_configs(self, source_topic: str, target_topic: str) -> dict[str, str]:
        """Set on ``target_topic`` the copied configs of ``source_topic`` it lacks or has
        with another value; what was set."""
        source_configs = self._topic_configs(source_topic)
        target_entries = self._describe(self._target, target_topic)
        changes = config_changes(
            source_configs,
            {name: entry.value for name, entry in target_entries.items()},
            self._config_allow,
            self._config_deny,
        )
        if changes:
            resource = ConfigResource(
                ResourceType.TOPIC,
                target_topic,
                incremental_configs=[
                    ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
                    for name, value in sorted(changes.items())
                ],
            )
            self._target.incremental_alter_configs([resource])[resource].result(ADMIN_TIMEOUT_S)
            log.info("synced configs %s of %s to %s", changes, source_topic, target_topic)
        return changes

    def _prepare(self, source_topic: str, *, held_before: bool) -> tuple[str, int]:
        target = self._naming.target_topic(source_topic)
        source_count = _partition_count(self._source, source_topic)
        if source_count is None:
            raise SourceTopicMissingError(f"source topic {source_topic!r} has no metadata")
        target_count = self._target_partition_count(target)
        if target_count is None:
            target_count = self._create(source_topic, target, source_count)
        elif partitions_to_add(source_topic, target, source_count, target_count, held_before):
            target_count = self._grow(source_topic, target, source_count)
        check_partitions(source_topic, target, source_count, target_count)
        return target, target_count

    def _target_partition_count(self, target: str) -> int | None:
        """The target topic's partition count (None: missing); raises
        :class:`TargetUnreachableError` when the target cluster does not answer, at once
        for ``TARGET_DOWN_HOLD_S`` after it last did not."""
        if time.monotonic() < self._target_down_until:
            raise TargetUnreachableError(self._target_down)
        try:
            return _partition_count(self._target, target)
        except KafkaException as exc:
            self._target.poll(0)  # serves the client's queued error callbacks
            last = self._target_errors.last
            cause = f"; its client's last error: {last}" if last else ""
            self._target_down = (
                f"the target cluster {self._target_bootstrap} did not answer a metadata "
                f"request within {ADMIN_TIMEOUT_S:.0f} s: {exc.args[0]}{cause}"
            )
            self._target_down_until = time.monotonic() + TARGET_DOWN_HOLD_S
            raise TargetUnreachableError(self._target_down) from exc

    def _reread(self, target: str) -> int:
        """The partition count of a target topic someone else just made or grew: a topic
        that new may not show in the metadata yet, which is retried, never a mismatch."""
        count = self._target_partition_count(target)
        if count is None:
            raise TargetTopicNotReadyError(f"target topic {target!r} has no metadata yet")
        return count

    def _grow(self, source_topic: str, target: str, partitions: int) -> int:
        """Grow ``target`` to ``partitions``; its partition count then."""
        future = self._target.create_partitions(
            [NewPartitions(target, partitions)], operation_timeout=ADMIN_TIMEOUT_S
        )[target]
        try:
            future.result(ADMIN_TIMEOUT_S)
        except KafkaException as exc:
            # Another instance of the mirror grew it first.
            if exc.args[0].code() != KafkaError.INVALID_PARTITIONS:
                raise
            return self._reread(target)
        log.info(
            "grew target topic %s to the %d partitions of %s", target, partitions, source_topic
        )
        time.sleep(2 * TARGET_METADATA_REFRESH_MS / 1000)
        return partitions

    def _create(self, source_topic: str, target: str, partitions: int) -> int:
        """Create ``target`` with ``partitions``; its partition count then."""
        configs = copied_configs(
            self._topic_configs(source_topic), self._config_allow, self._config_deny
        )
        future = self._target.create_topics(
            [NewTopic(target, num_partitions=partitions, replication_factor=-1, config=configs)],
            operation_timeout=ADMIN_TIMEOUT_S,
        )[target]
        try:
            future.result(ADMIN_TIMEOUT_S)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            return self._reread(target)
        log.info(
            "created target topic %s (%d partitions, configs %s) for %s",
            target,
            partitions,
            sorted(configs),
            source_topic,
        )
        return partitions

    def _topic_configs(self, topic: str) -> dict[str, str]:
        """The configs set on ``topic`` itself (not inherited from the broker)."""
        return {
            name: entry.value
            for name, entry in self._describe(self._source, topic).items()
            if ConfigSource(entry.source) is ConfigSource.DYNAMIC_TOPIC_CONFIG
            and entry.value is not None
        }

    @staticmethod
    def _describe(admin: AdminClient, topic: str) -> dict[str, ConfigEntry]:
        resource = ConfigResource(ResourceType.TOPIC, topic)
        entries: dict[str, ConfigEntry] = admin.describe_configs([resource])[resource].result(
            ADMIN_TIMEOUT_S
        )
        return entries


def _partition_count(admin: AdminClient, topic: str) -> int | None:
    metadata = admin.list_topics(topic=topic, timeout=ADMIN_TIMEOUT_S)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None or not found.partitions:
        return None
    return len(found.partitions)


class MirrorRoutes:
    """The processors' ``Routes`` of a mirror: a source topic's target topic, LIVE only."""

    def __init__(self, topics: TargetTopics) -> None:
        self._topics = topics

    def topic(self, output: str, role: Role | None) -> str:
        if role is not Role.LIVE:
            raise NoOutputRoleError(
                f"a mirror writes only from the LIVE colour; source topic {output!r} was "
                f"read by a colour in role {role}"
            )
        return self._topics.target_of(output)

    def topics(self, role: Role) -> frozenset[str]:
        """The target topics made ready so far (none for a colour that may not write)."""
        return frozenset(self._topics.ready().values()) if role is Role.LIVE else frozenset()
