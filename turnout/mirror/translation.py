"""A consumer group's source positions as target positions: ``turnout mirror translate``
and the checkpoints read them from here.

``translate_positions`` is pure: the group's committed source offsets and a ``SyncTable``
give one ``TranslatedPartition`` per committed partition of a mirrored topic (its bound
and when it holds: ``offset_syncs``). ``group_positions`` and ``translate_group`` are the
I/O: the group's committed offsets on the source cluster, the syncs on the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException
from confluent_kafka.admin import AdminClient

from turnout.mirror.sync_topic import SourcePartition, SyncTable, read_syncs

#: How long one admin round trip may take before the cluster counts as unreachable: a
#: local broker answers in milliseconds, a distant or busy one in seconds.
TRANSLATE_TIMEOUT_S = 10.0


#: librdkafka properties of a command's clients: its own connection-failure lines would
#: bury the one-line error the command prints.
QUIET_CLIENT: Mapping[str, str | int] = {"log_level": 0}


class ClusterUnreachable(Exception):
    """A cluster did not answer an admin request within ``TRANSLATE_TIMEOUT_S``."""


class Precision(StrEnum):
    #: The target consumer starts at the copy of the group's next record.
    EXACT = "exact"
    #: It may first re-read up to ``rereads_at_most`` records the group had read.
    BOUNDED = "bounded"
    #: No sync at or below the group's position: not translated.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class TranslatedPartition:
    source_topic: str
    partition: int
    #: The group's committed source offset (its next record).
    committed: int
    target_topic: str
    #: Where a target consumer starts; None when not translated.
    target_offset: int | None
    rereads_at_most: int | None

    @property
    def precision(self) -> Precision:
        if self.target_offset is None:
            return Precision.UNKNOWN
        return Precision.EXACT if self.rereads_at_most == 0 else Precision.BOUNDED


class TranslationError(Exception):
    """The group cannot be translated at all (one line, for the command's stderr)."""


def translate_positions(
    committed: Mapping[SourcePartition, int], table: SyncTable
) -> list[TranslatedPartition]:
    """The committed partitions of mirrored topics, translated, in (topic, partition)
    order; partitions of topics the syncs do not know are left out."""
    rows = []
    for (topic, partition), offset in sorted(committed.items()):
        target_topic = table.target_topics.get(topic)
        if target_topic is None:
            continue
        history = table.histories.get((topic, partition))
        translation = None if history is None else history.translate(offset)
        rows.append(
            TranslatedPartition(
                topic,
                partition,
                offset,
                target_topic,
                None if translation is None else translation.offset,
                None if translation is None else translation.rereads_at_most,
            )
        )
    return rows


def group_positions(
    bootstrap: str, group: str, client: Mapping[str, str | int] | None = None
) -> dict[SourcePartition, int]:
    """``group``'s committed offsets on ``bootstrap`` (partitions without one left out).
    Raises ``ClusterUnreachable`` when the cluster does not answer, ``KafkaException``
    when it refuses."""
    admin = AdminClient({"bootstrap.servers": bootstrap, **(client or {})})
    request = [ConsumerGroupTopicPartitions(group)]
    future = admin.list_consumer_group_offsets(request, request_timeout=TRANSLATE_TIMEOUT_S)
    try:
        answer = future[group].result(TRANSLATE_TIMEOUT_S)
    except TimeoutError as exc:
        # With no broker reached the request never starts, so its own timeout never fires.
        raise ClusterUnreachable(f"no answer from {bootstrap} in {TRANSLATE_TIMEOUT_S} s") from exc
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in answer.topic_partitions or []
        if tp.offset >= 0 and tp.error is None
    }


def translate_group(
    source: str,
    target: str,
    deployment: str,
    group: str,
    *,
    source_client: Mapping[str, str] | None = None,
    target_client: Mapping[str, str] | None = None,
) -> list[TranslatedPartition]:
    """``group``'s positions on the source, translated with the mirror deployment's
    syncs on the target (each cluster's clients with its ``*_client`` properties: its
    security, say). Raises ``TranslationError`` with one line on bad input."""
    try:
        committed = group_positions(source, group, {**QUIET_CLIENT, **(source_client or {})})
    except (KafkaException, ClusterUnreachable) as exc:
        raise TranslationError(f"the source cluster {source} did not answer: {exc}") from exc
    if not committed:
        raise TranslationError(f"group {group!r} has no committed offsets on {source}")
    try:
        table = read_syncs(target, deployment, {**QUIET_CLIENT, **(target_client or {})})
    except KafkaException as exc:
        raise TranslationError(f"the target cluster {target} did not answer: {exc}") from exc
    except LookupError as exc:
        raise TranslationError(
            f"mirror {deployment!r} has recorded no offset syncs: {exc}"
        ) from exc
    rows = translate_positions(committed, table)
    if not rows:
        raise TranslationError(
            f"group {group!r} has no committed offsets on the topics mirror {deployment!r} "
            f"copied ({', '.join(sorted(table.target_topics)) or 'none yet'})"
        )
    return rows
