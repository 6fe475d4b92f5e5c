"""The mirror's routes: each source topic's target topic, made like its source on first use.

``MirrorRoutes`` is the processors' ``Routes`` of a mirror (``OutputTarget``): the
"output" a mirror emits to is the source topic's name, and its topic is the target topic
(``naming``). The first record of a source topic looks both topics up:

    unknown ──target missing──▶ create it (source's partitions, allowed configs) ──▶ ready
    unknown ──target exists, at least as many partitions──▶ ready
    unknown ──target has fewer partitions──▶ PartitionMismatchError (a PermanentFailure:
        the deployment's failure decision holds the record, and by default stops the
        agent, the reason in its status and log; nothing was written for it)
    ready ──a record of a partition beyond the target's count (partitions were added to
        the source)──▶ unknown again: the source's new count is checked against the
        target's (the mirror does not add partitions to a target yet)

A ready topic is not looked up again: one admin round trip per topic per agent, under a
lock so that workers do not race to create it. Only a colour in the LIVE role writes: a
PREVIEW colour's mirror would write to the same target topics, so it is refused.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource, ConfigSource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewTopic

from turnout.agent.processors.routing import NoOutputRoleError
from turnout.mirror.topic_shape import (
    CONFIG_ALLOW_LIST,
    SourceTopicMissingError,
    check_partitions,
    copied_configs,
)
from turnout.protocol.mirror import TopicNaming
from turnout.protocol.models import Role

log = logging.getLogger(__name__)

#: One metadata or create round trip on a healthy cluster takes milliseconds; a cluster
#: electing a leader answers within seconds. Past this the record fails and is retried.
ADMIN_TIMEOUT_S = 15.0


class TargetTopics:
    """Looks up, creates and checks target topics (see the module docstring)."""

    def __init__(
        self,
        naming: TopicNaming,
        source_admin: Mapping[str, str],
        target_admin: Mapping[str, str],
        *,
        config_allow: frozenset[str] = CONFIG_ALLOW_LIST,
    ) -> None:
        self._naming = naming
        self._source = AdminClient(dict(source_admin))
        self._target = AdminClient(dict(target_admin))
        self._config_allow = config_allow
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
                found = self._prepare(source_topic)
                self._ready[source_topic] = found
            return found[0]

    def ready(self) -> frozenset[str]:
        """The target topics checked or created so far."""
        return frozenset(target for target, _ in self._ready.values())

    def _prepare(self, source_topic: str) -> tuple[str, int]:
        target = self._naming.target_topic(source_topic)
        source_count = _partition_count(self._source, source_topic)
        if source_count is None:
            raise SourceTopicMissingError(f"source topic {source_topic!r} has no metadata")
        target_count = _partition_count(self._target, target)
        if target_count is None:
            self._create(source_topic, target, source_count)
            # A topic just created may not be in the metadata of the broker asked yet
            # (no partitions listed): it has the partitions it was created with.
            target_count = _partition_count(self._target, target) or source_count
        check_partitions(source_topic, target, source_count, target_count)
        return target, target_count

    def _create(self, source_topic: str, target: str, partitions: int) -> None:
        configs = copied_configs(self._topic_configs(source_topic), self._config_allow)
        future = self._target.create_topics(
            [NewTopic(target, num_partitions=partitions, replication_factor=-1, config=configs)],
            operation_timeout=ADMIN_TIMEOUT_S,
        )[target]
        try:
            future.result(ADMIN_TIMEOUT_S)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            return
        log.info(
            "created target topic %s (%d partitions, configs %s) for %s",
            target,
            partitions,
            sorted(configs),
            source_topic,
        )

    def _topic_configs(self, topic: str) -> dict[str, str]:
        """The configs set on ``topic`` itself (not inherited from the broker)."""
        resource = ConfigResource(ResourceType.TOPIC, topic)
        entries = self._source.describe_configs([resource])[resource].result(ADMIN_TIMEOUT_S)
        return {
            name: entry.value
            for name, entry in entries.items()
            if ConfigSource(entry.source) is ConfigSource.DYNAMIC_TOPIC_CONFIG
            and entry.value is not None
        }


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
        return self._topics.ready() if role is Role.LIVE else frozenset()
