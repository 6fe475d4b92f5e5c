"""Cluster migration as a blue/green switch: a colour bound to the other side of a mirror.

A consumer deployment on cluster A (topic ``orders``, group ``billing``) is mirrored by
a Turnout mirror deployment to cluster B (``a.orders``). Its colour started with a
``Migration`` (``migration_environment``) consumes the other side of that mirror:

- ``MirrorSide.COPIES``: the colour runs on B and fetches the copies (``a.orders``);
- ``MirrorSide.SOURCE``: the colour runs on A and fetches the source topics as any colour
  does, but knows about B (a rollback from a colour on B comes back exactly).

Ownership stays keyed by the deployment's own partitions (the live binding's topics,
A's names): both colours coordinate on the same owner nodes, so the release-before-claim
handover is the usual one. ``MigratingSource`` is the agent's Kafka consumer with two
differences, and nothing else of the agent changes:

- **Names.** Every partition the agent names (assign, pause, seek, watermarks,
  commits) is fetched and committed under its name on this colour's cluster, the same
  partition number (the mirror preserves partitions); records come back under the
  deployment's name (``logical_topic``). The copies' names are the mirror's own,
  read from its offset syncs (``SyncTable.target_topics``), so a colour on B cannot
  start before the mirror copied something of each topic (until then the topic counts
  as having no partitions there).
- **Where a claimed partition starts** (``committed``, what the offset store reads at
  claim). The group's commit on this cluster and on the other are both read; the one
  made at the later directive epoch wins (``peer_is_newer``: a switch or a rollback
  moved the partition since the other was made). The other cluster's commit is final
  when read: its colour committed it at release, before its owner node went. It is
  translated exactly (``migration_offsets``, its completed-beyond-a-gap offsets too),
  by the syncs or, on the copies' side, by the copies' coordinate headers read from the
  newest sync below it (found as soon as the mirror copied it, not a sync later);
  while it cannot be yet (the mirror has not copied or synced past it) the claim waits,
  polling the syncs every ``SYNCS_POLL_S``, at most ``CATCH_UP_TIMEOUT_S``. Past that
  the claim fails (``MigrationNotReady``: the agent logs it, lists it in its status's
  ``errors``, lets the partition go and claims it again later); it never starts from a
  guess.

Commits go to the group of the same name on the colour's own cluster. The wait runs
on the agent's thread (as every offset read at claim does): the agent's other
partitions keep processing on the dispatcher's workers, but its loop reacts to nothing
else for as long as it waits.

States of a claim's start position::

    read both commits ──own is newer (or no other)──▶ own commit
    read both commits ──other is newer──▶ translating ──exact──▶ translated commit
    translating ──not yet exact──▶ waiting ──syncs re-read, exact──▶ translated commit
    waiting ──CATCH_UP_TIMEOUT_S passed──▶ MigrationNotReady (the claim is let go)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

from confluent_kafka import KafkaException

from turnout.agent.config import AgentConfig
from turnout.agent.environment import AgentEnvironment, kafka_source
from turnout.agent.kafka_source import KafkaSource
from turnout.mirror.copies_reader import CopiesReader
from turnout.mirror.migration_offsets import (
    copies_to_source,
    peer_is_newer,
    source_to_copies,
)
from turnout.mirror.offset_syncs import SYNC_EVERY_S, OffsetSync
from turnout.mirror.sync_follower import SyncFollower
from turnout.mirror.sync_topic import SyncTable
from turnout.protocol import CommitMetadata
from turnout.protocol.crossing import Crossing, MirrorSide
from turnout.protocol.partitions import PartitionId

log = logging.getLogger(__name__)

#: Longest a claim waits for the mirror to copy and sync past the other cluster's
#: commit: a mirror keeping up syncs its newest position within ``SYNC_EVERY_S``, so
#: this allows a mirror some seconds behind (a burst, a slow broker) before the claim
#: counts the mirror as stuck and lets the partition go, rather than stall the agent's
#: loop longer.
CATCH_UP_TIMEOUT_S = 30.0
#: How often a waiting claim re-reads the syncs: each look is a watermark request (the
#: claim follows the sync topic), and every tenth of a second it waits past the sync
#: that settles it adds to the switch.
SYNCS_POLL_S = 0.1
#: How often an unknown copies' name (a topic the mirror has not synced yet) makes the
#: syncs be read again: the mirror syncs within ``SYNC_EVERY_S`` of a first copy, and a
#: read costs a watermark request and the syncs written since the last.
NAMES_REFRESH_S = SYNC_EVERY_S

#: Committed (next offset, metadata) per partition, as ``KafkaSource.committed`` says.
Committed = dict[PartitionId, tuple[int, str | None] | None]


class MigrationNotReady(KafkaException):
    """The other cluster's commit could not be translated exactly in time."""


@dataclass(frozen=True)
class Migration:
    """Which mirror joins this colour's cluster and the other one, and which side this
    colour is on."""

    #: The mirror deployment (its offset syncs topic is on the target cluster).
    mirror: str
    side: MirrorSide
    #: The other cluster's bootstrap servers (where the other colour commits).
    peer_kafka: str
    #: librdkafka properties of the other cluster's clients (its security, say).
    peer_properties: Mapping[str, str] = field(default_factory=dict)
    catch_up_timeout_s: float = CATCH_UP_TIMEOUT_S


def migration_environment(
    migration: Migration, base: AgentEnvironment | None = None
) -> AgentEnvironment:
    """``base`` (the default environment) with the agent's consumer a ``MigratingSource``:
    give it to ``Agent(..., environment=...)``."""

    def new_source(config: AgentConfig, group: str) -> KafkaSource:
        if config.offset_store != "kafka":
            # Another store would never ask the consumer where a claim starts: the colour
            # would start at a position of the other cluster.
            raise ValueError(
                f"a colour consuming across mirror {migration.mirror!r} keeps its offsets "
                f"in Kafka (offset_store kafka), not {config.offset_store}"
            )
        return kafka_source(config, group, partial(MigratingSource, migration=migration))

    crossing = Crossing(mirror=migration.mirror, side=migration.side)
    return replace(base or AgentEnvironment(), new_source=new_source, crossing=crossing)


class MigratingSource(KafkaSource):
    """The agent's consumer on one side of a mirror (see the module)."""

    def __init__(
        self,
        bootstrap: str,
        group: str,
        client_id: str,
        auto_offset_reset: str,
        properties: Mapping[str, str],
        migration: Migration,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(bootstrap, group, client_id, auto_offset_reset, properties)
        self._migration = migration
        self._clock = clock
        self._copies_kafka = (
            bootstrap if migration.side is MirrorSide.COPIES else migration.peer_kafka
        )
        self._copies_client = (
            dict(properties)
            if migration.side is MirrorSide.COPIES
            else dict(migration.peer_properties)
        )
        self._peer = KafkaSource(
            migration.peer_kafka,
            group,
            client_id=f"{client_id}-peer",
            auto_offset_reset=auto_offset_reset,
            properties=migration.peer_properties,
        )
        #: Reads the copies' coordinate headers (used on the copies' side only).
        self._copies = CopiesReader(bootstrap, migration.mirror, properties, clock)
        self._syncs = SyncFollower(self._copies_kafka, migration.mirror, self._copies_client)
        self._table = SyncTable()
        self._names_read_at: float | None = None
        #: Copies' name → deployment's name, of the names met so far.
        self._logical: dict[str, str] = {}

    # ---- names --------------------------------------------------------------------------

    def _read_syncs(self) -> SyncTable:
        try:
            self._table = self._syncs.refresh()
        except LookupError:
            self._table = SyncTable()  # nothing mirrored yet
        self._names_read_at = self._clock()
        return self._table

    def _copies_name(self, topic: str) -> str | None:
        name = self._table.target_topics.get(topic)
        stale = (
            self._names_read_at is None or self._clock() - self._names_read_at >= NAMES_REFRESH_S
        )
        if name is None and stale:
            name = self._read_syncs().target_topics.get(topic)
        if name is not None:
            self._logical[name] = topic
        return name

    def _physical_name(self, topic: str, side: MirrorSide) -> str:
        """``topic``'s name on ``side``; raises ``KafkaException`` for a topic the mirror
        has not copied yet."""
        if side is MirrorSide.SOURCE:
            return topic
        name = self._copies_name(topic)
        if name is None:
            raise KafkaException(
                f"mirror {self._migration.mirror!r} has not copied topic {topic!r} yet"
            )
        return name

    def _own(self, tp: PartitionId) -> PartitionId:
        return self._physical_name(tp[0], self._migration.side), tp[1]

    def _own_all(self, tps: Iterable[PartitionId]) -> list[PartitionId]:
        return [self._own(tp) for tp in tps]

    def logical_topic(self, topic: str) -> str:
        return self._logical.get(topic, topic)

    def _logical_tp(self, tp: PartitionId) -> PartitionId:
        return self.logical_topic(tp[0]), tp[1]

    # ---- the consumer, under this cluster's names ---------------------------------------

    def assign(self, starts: Sequence[tuple[PartitionId, int]], *, paused: bool = True) -> None:
        super().assign([(self._own(tp), offset) for tp, offset in starts], paused=paused)

    def unassign(self, tps: Iterable[PartitionId]) -> None:
        super().unassign(self._own_all(tps))

    @property
    def paused(self) -> frozenset[PartitionId]:
        return frozenset(self._logical_tp(tp) for tp in super().paused)

    def set_paused(self, wanted: set[PartitionId], seek: Mapping[PartitionId, int]) -> None:
        super().set_paused(
            set(self._own_all(wanted)), {self._own(tp): offset for tp, offset in seek.items()}
        )

    def pause(self, tps: Iterable[PartitionId]) -> None:
        super().pause(self._own_all(tps))

    def partition_counts(
        self, topics: Sequence[str], pattern: Callable[[str], bool] | None = None
    ) -> dict[str, int]:
        """Per deployment topic, its partitions on this cluster (0 while the mirror has
        not copied it: nothing to claim yet). ``pattern`` (a binding's topic pattern)
        adds the deployment's topics it takes among those the mirror copies (known from
        its syncs), on either side: the copies' names are not the deployment's."""
        wanted = list(topics)
        if pattern is not None:
            copied = self._read_syncs().target_topics
            wanted += sorted(t for t in copied if t not in wanted and pattern(t))
        names = {}
        for topic in wanted:
            try:
                names[topic] = self._physical_name(topic, self._migration.side)
            except KafkaException:
                continue
        counts = super().partition_counts(list(names.values()))
        return {topic: counts[names[topic]] if topic in names else 0 for topic in wanted}

    def warm_up(self, partitions: Mapping[str, int]) -> None:
        side = self._migration.side
        super().warm_up({self._physical_name(t, side): n for t, n in partitions.items()})

    def watermarks(self, tp: PartitionId) -> tuple[int, int]:
        return super().watermarks(self._own(tp))

    def cached_high_watermark(self, tp: PartitionId) -> int | None:
        return super().cached_high_watermark(self._own(tp))

    def commit(self, offsets: Mapping[PartitionId, tuple[int, str]]) -> None:
        super().commit({self._own(tp): value for tp, value in offsets.items()})

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._peer.close()
            self._syncs.close()
            self._copies.close()

    # ---- where a claimed partition starts -----------------------------------------------

    def committed(self, tps: Sequence[PartitionId]) -> Committed:
        """Per partition, the group's newer commit of the two clusters', in this
        cluster's offsets (see the module); waits for the mirror at most
        ``catch_up_timeout_s``, then raises ``MigrationNotReady``."""
        side = self._migration.side
        other = MirrorSide.SOURCE if side is MirrorSide.COPIES else MirrorSide.COPIES
        own = {
            self._logical_tp(tp): value
            for tp, value in super().committed(self._own_all(tps)).items()
        }
        if other is MirrorSide.COPIES:
            # Whether the copies' side ever held a topic is read from every sync written
            # up to now, never from a table read before: a name missing from an older
            # read would pass for "never held", and this side would resume from its own,
            # older commit (the copies' colour fetches a topic only once its name is in
            # the syncs, so a complete read that lacks it proves it never held it).
            self._read_syncs()
        peer_names = {}
        for topic, partition in tps:
            try:
                peer_names[self._physical_name(topic, other), partition] = (topic, partition)
            except KafkaException:
                continue  # not copied yet (see above): the other side has never held it
        peer = {}
        if peer_names:
            answer = self._peer.committed(list(peer_names))
            peer = {peer_names[tp]: value for tp, value in answer.items()}
        found: Committed = {}
        to_translate: dict[PartitionId, tuple[int, CommitMetadata | None]] = {}
        for tp in tps:
            mine, theirs = own.get(tp), peer.get(tp)
            their_metadata = CommitMetadata.decode(theirs[1]) if theirs else None
            if theirs is not None and peer_is_newer(
                _epoch_of(mine), their_metadata.epoch if their_metadata else None
            ):
                to_translate[tp] = (theirs[0], their_metadata)
            else:
                found[tp] = mine
        if to_translate:
            found.update(self._translated(to_translate))
        return found

    def _translated(
        self, commits: Mapping[PartitionId, tuple[int, CommitMetadata | None]]
    ) -> Committed:
        to_own = source_to_copies if self._migration.side is MirrorSide.COPIES else copies_to_source
        deadline = self._clock() + self._migration.catch_up_timeout_s
        table = self._read_syncs()
        waited = False
        while True:
            done: Committed = {}
            pending: list[str] = []
            syncs_of: dict[PartitionId, Sequence[OffsetSync]] = {}
            for tp in commits:
                history = table.histories.get(tp)
                syncs_of[tp] = history.syncs if history is not None else ()
            unsettled = {
                tp: (offset, syncs_of[tp])
                for tp, (offset, _) in commits.items()
                if to_own(syncs_of[tp], offset) is None
            }
            found = (
                self._copies.positions(
                    {self._own(tp): (tp, *position) for tp, position in unsettled.items()}
                )
                if unsettled and self._migration.side is MirrorSide.COPIES
                else {}
            )
            for tp, (offset, metadata) in commits.items():
                positions = [offset, *(metadata.done if metadata else ())]
                moved = [to_own(syncs_of[tp], position) for position in positions]
                if moved[0] is None:
                    moved[0] = found.get(tp)
                if any(position is None for position in moved):
                    pending.append(f"{tp[0]}/{tp[1]} at {offset}")
                    continue
                start, *beyond = (position for position in moved if position is not None)
                carried = None if metadata is None else metadata.model_copy(update={"done": beyond})
                done[tp] = (start, None if carried is None else carried.encode())
            if not pending:
                if waited:
                    log.info("the mirror caught up: %d partitions translated", len(done))
                return done
            if self._clock() >= deadline:
                raise MigrationNotReady(
                    f"mirror {self._migration.mirror!r} did not copy past the other "
                    f"cluster's commit of {', '.join(pending)} within "
                    f"{self._migration.catch_up_timeout_s:.0f} s: not claimed"
                )
            if not waited:
                log.warning(
                    "claim waits for mirror %r to copy past %s",
                    self._migration.mirror,
                    ", ".join(pending),
                )
                waited = True
            time.sleep(SYNCS_POLL_S)
            table = self._read_syncs()


def _epoch_of(value: tuple[int, str | None] | None) -> int | None:
    metadata = CommitMetadata.decode(value[1]) if value is not None else None
    return metadata.epoch if metadata is not None else None


__all__ = [
    "CATCH_UP_TIMEOUT_S",
    "MigratingSource",
    "Migration",
    "MigrationNotReady",
    "MirrorSide",
    "migration_environment",
]
