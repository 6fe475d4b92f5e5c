"""A thin typed wrapper over one ``confluent_kafka.Consumer`` per agent.

The agent assigns partitions itself (``incremental_assign``; never ``subscribe``), so
Kafka's group protocol never moves them: ZooKeeper ownership decides. Offsets are
committed only explicitly (auto commit and auto offset store off). Created lazily, on
the agent's thread, which makes every call but ``poll``: that one is also made by a
dispatcher's worker when the dispatcher fetches itself (``FetchingDispatcher``), one
thread at a time under the data path's fetch lock. The group's offsets (``commit``,
``committed``) go through a second handle, so that they never wait for a poll nor hold
one up. librdkafka is thread-safe; the
Python-side sets here are written by the agent's thread only and read by ``poll`` with a
length check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress

from confluent_kafka import (
    OFFSET_END,
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
)
from confluent_kafka import TopicPartition as KafkaTP

from turnout.agent.call_turns import CallTurns
from turnout.protocol.partitions import PartitionId

#: Kafka metadata and offset look-ups answer in milliseconds on a healthy cluster; this
#: bounds how long the agent's loop may stall when a broker is unreachable.
KAFKA_REQUEST_TIMEOUT_S = 5.0
#: Records taken per poll at most. Everything the agent loop does once per step (commit
#: points, pauses, lease and ZooKeeper checks) is amortised over a poll's records, so a
#: larger batch raises throughput (docs/agent.md has the figure). A poll takes what is
#: queued (it waits only for a first record), and routing a batch takes milliseconds, so
#: reaction times barely move; records fetched but not started when a partition is
#: released are dropped and fetched again by the next owner.
POLL_BATCH = 2000

#: How long ``_wake_fetchers`` waits for the answer to its wake-up request: not at all,
#: in effect (librdkafka needs a positive timeout; the request goes out regardless).
WAKE_REQUEST_WAIT_S = 0.0001
#: librdkafka's wait before fetching again for a partition whose local queue was full.
#: Short, because a claim's stale first fetch (above) can fill it; a fetch it allows is
#: only sent once the queue is below its threshold again, so a short wait costs nothing.
FETCH_QUEUE_BACKOFF_MS = 20

logger = logging.getLogger("turnout.agent.kafka")
_error_of = Message.error


class KafkaSource:
    def __init__(
        self,
        bootstrap: str,
        group: str,
        client_id: str,
        auto_offset_reset: str,
        properties: Mapping[str, str],
    ) -> None:
        self.group = group
        conf: dict[str, str | int | bool] = {
            "bootstrap.servers": bootstrap,
            "client.id": client_id,
            # Fetch promptly: the consume loop is also the agent's event loop.
            "fetch.wait.max.ms": 100,
            # A partition assigned paused is resumed with a seek (``set_paused``);
            # records fetched in between are discarded, but if they filled the partition's
            # queue, librdkafka backs its next fetch off for this long (1 s by default),
            # and the partition's first records waited that long after its claim.
            "fetch.queue.backoff.ms": FETCH_QUEUE_BACKOFF_MS,
            **properties,
            "group.id": group,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "error" if auto_offset_reset == "error" else auto_offset_reset,
        }
        self._consumer = Consumer(conf)
        # The group's offsets go through a second handle that fetches nothing: a commit
        # (a broker round trip) made on the fetching handle would hold every poll up for
        # its duration (calls on a handle wait for each other), and the agent commits
        # while a worker fetches. Kafka takes a manual commit from any member of no
        # generation, so the handle needs no assignment.
        self._plain_conf: dict[str, str | int | bool] = {
            "bootstrap.servers": bootstrap,
            **properties,
            "group.id": group,
            "enable.auto.commit": False,
        }
        self._client_id = client_id
        self._offsets = Consumer({**self._plain_conf, "client.id": f"{client_id}-offsets"})
        self._turns = CallTurns()
        #: Each partition's leader (broker id) as of the last ``partition_counts``.
        self._leaders: dict[PartitionId, int] = {}
        self._paused: set[PartitionId] = set()
        # The offsets handle never joins the group, so its metadata (the group, no member,
        # no generation) never changes: read once, a local call, rather than once per
        # transaction in a call that waits its turn on the handle behind a commit.
        self._group_metadata: object = self._offsets.consumer_group_metadata()
        self._assigned: set[PartitionId] = set()
        self._topic_count = 0

    # ---- assignment -------------------------------------------------------------------

    def assign(self, starts: Sequence[tuple[PartitionId, int]], *, paused: bool = True) -> None:
        """Add partitions at the given offsets, paused (the agent resumes them) or, with
        ``paused`` False, fetching from those offsets at once: the assignment itself
        starts the fetch and wakes the leader's broker thread, so a claim whose records
        may start now needs no resume, seek or wake-up request after it."""
        if not starts:
            return
        with self._turns.agent():
            self._consumer.incremental_assign([KafkaTP(t, p, offset) for (t, p), offset in starts])
            tps = [tp for tp, _ in starts]
            self._assigned.update(tps)
            self._topic_count = len({topic for topic, _ in self._assigned})
            self._paused.difference_update(tps)
            if paused:
                self._pause(tps)

    def unassign(self, tps: Iterable[PartitionId]) -> None:
        """Remove partitions from the assignment, unpaused: librdkafka keeps a partition's
        pause across an unassignment, so a paused partition assigned again fetching
        (``assign(paused=False)``) would never fetch. Resumed once unassigned, it fetches
        nothing meanwhile."""
        gone = [tp for tp in tps if tp in self._assigned]
        if not gone:
            return
        with self._turns.agent():
            self._consumer.incremental_unassign([KafkaTP(t, p) for t, p in gone])
            paused = [KafkaTP(t, p) for t, p in gone if (t, p) in self._paused]
            if paused:
                self._consumer.resume(paused)
            for tp in gone:
                self._assigned.discard(tp)
                self._paused.discard(tp)
            self._topic_count = len({topic for topic, _ in self._assigned})

    @property
    def has_assignment(self) -> bool:
        """Anything assigned (a length read: safe while the agent thread changes it)."""
        return bool(self._assigned)

    @property
    def topics_assigned(self) -> int:
        """How many topics the assignment spans (kept on assignment changes)."""
        return self._topic_count

    @property
    def paused(self) -> frozenset[PartitionId]:
        return frozenset(self._paused)

    def set_paused(self, wanted: set[PartitionId], seek: Mapping[PartitionId, int]) -> None:
        """Pause exactly ``wanted`` among the assigned partitions; a partition resumed
        with an entry in ``seek`` is then moved to that offset.

        The seek comes *after* the resume, so records a fetch between the two calls may
        bring are older than the seek's op version and discarded by librdkafka: the
        seek's offset is where fetching resumes. Neither wakes the leader's broker
        thread, though, which sleeps up to its hard-coded 1 s (``rd_kafka_max_block_ms``)
        when it had nothing to fetch (every partition paused, as in a paused
        deployment), so a resumed partition's first records would come up to a second
        late. A request to
        the leaders wakes their threads (``_wake_fetchers``), sent only to a leader none
        of whose other partitions is being fetched: a fetching thread is awake and takes
        the resumed partition into its next fetch, and a request sent behind its
        long-polling fetch could time out (see ``_wake_fetchers``)."""
        wanted = wanted & self._assigned
        to_pause = wanted - self._paused
        to_resume = (self._paused - wanted) & self._assigned
        if not to_pause and not to_resume:
            return
        with self._turns.agent():
            if to_pause:
                self._pause(to_pause)
            if to_resume:
                fetching = {self._leaders.get(tp) for tp in self._assigned - self._paused}
                idle = [tp for tp in to_resume if self._leaders.get(tp, -1) not in fetching]
                self._consumer.resume([KafkaTP(t, p) for t, p in to_resume])
                self._paused -= to_resume
                for tp in to_resume:
                    if tp in seek:
                        self._consumer.seek(KafkaTP(tp[0], tp[1], seek[tp]))
                if idle:
                    self._wake_fetchers(idle)

    def _wake_fetchers(self, tps: Iterable[PartitionId]) -> None:
        """Send the leaders of ``tps`` a request (a ListOffsets for the log end) whose
        answer nobody waits for: its arrival on a broker thread's queue wakes the thread,
        which then sees the resumed partitions and fetches at once.

        The request goes out with no time to wait (librdkafka gives a request the call's
        timeout), so one still unanswered at the broker thread's next timeout scan (every
        second) counts as timed out, and librdkafka then drops the connection with its
        fetch in flight (``socket.max.fails`` 1, which it advises to keep). A leader
        answers at once unless a fetch is ahead of the request on the connection, which
        ``set_paused`` avoids by waking only leaders with nothing being fetched."""
        # The expected "timed out" is suppressed: the request went out, and its answer is
        # not needed.
        with suppress(KafkaException):
            self._consumer.offsets_for_times(
                [KafkaTP(t, p, OFFSET_END) for t, p in tps], timeout=WAKE_REQUEST_WAIT_S
            )

    def pause(self, tps: Iterable[PartitionId]) -> None:
        with self._turns.agent():
            self._pause(tps)

    def _pause(self, tps: Iterable[PartitionId]) -> None:
        todo = [tp for tp in tps if tp in self._assigned]
        if todo:
            self._consumer.pause([KafkaTP(t, p) for t, p in todo])
            self._paused.update(todo)

    # ---- reading ------------------------------------------------------------------------

    def logical_topic(self, topic: str) -> str:
        """The deployment's name of a topic this consumer fetched (a record's ``topic()``):
        the same name, unless a subclass fetches a partition under another name than the
        one it is owned by (a colour consuming a mirror's copies)."""
        return topic

    def poll(self, timeout_s: float, max_records: int = POLL_BATCH) -> list[Message]:
        """What is queued, up to ``max_records`` (at most ``POLL_BATCH``); if nothing is,
        the first record within ``timeout_s`` and what came with it."""
        if not self._assigned:
            return []
        batch = max(1, min(max_records, POLL_BATCH))
        # consume() with a timeout returns only when the batch is full or the timeout has
        # passed, so at a low rate every record waited up to ``timeout_s`` (a handover's
        # first records too). Take what is queued; if nothing is, wait for the first
        # record only, then take what came with it.
        consumer = self._consumer
        with self._turns.fetch():
            messages = consumer.consume(num_messages=batch, timeout=0)
            if not messages:
                first = consumer.poll(timeout_s)
                if first is None:
                    return []
                messages = [first]
                if batch > 1:
                    messages += consumer.consume(num_messages=batch - 1, timeout=0)
        # Per-record path: look for errors with C-level map/any, keep the list if none.
        if not any(map(_error_of, messages)):
            return messages
        good: list[Message] = []
        for message in messages:
            error = message.error()
            if error is None:
                good.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                logger.warning("fetch error: %s", error, extra={"event": "fetch_error"})
        return good

    def partition_counts(
        self, topics: Sequence[str], pattern: Callable[[str], bool] | None = None
    ) -> dict[str, int]:
        """Partition count per topic (0 for a topic that does not exist), and of every
        topic of the cluster ``pattern`` takes (a binding's ``topic_pattern``)."""
        with self._turns.agent():
            metadata = self._consumer.list_topics(timeout=KAFKA_REQUEST_TIMEOUT_S)
        counts: dict[str, int] = {}
        for topic in topics:
            found = metadata.topics.get(topic)
            counts[topic] = 0 if found is None or found.error else len(found.partitions)
        if pattern is not None:
            for topic, found in metadata.topics.items():
                if topic not in counts and not found.error and pattern(topic):
                    counts[topic] = len(found.partitions)
        self._leaders = {
            (topic, partition): part.leader
            for topic in counts
            if (found := metadata.topics.get(topic)) is not None
            for partition, part in found.partitions.items()
        }
        return counts

    def cluster_answers(self) -> bool:
        """Whether a new client, configured as this one, reads the cluster's metadata
        within ``KAFKA_REQUEST_TIMEOUT_S``: tells a consumer cut off from a cluster that
        is there from a cluster that is down (``coordination.source_health``)."""
        probe = Consumer({**self._plain_conf, "client.id": f"{self._client_id}-probe"})
        try:
            probe.list_topics(timeout=KAFKA_REQUEST_TIMEOUT_S)
        except KafkaException:
            return False
        finally:
            probe.close()
        return True

    def warm_up(self, partitions: Mapping[str, int]) -> None:
        """Do now, on a standby, what the first claim of these topics' partitions (count
        per topic) would otherwise wait for: the offsets handle finds the group's
        coordinator, connects to it and reads the committed offsets (the claim's first
        request), and the fetching handle connects to every partition's leader (a
        ListOffsets to each, answered: the connection and the broker's API versions are
        then there for the first fetch). Raises ``KafkaException`` if either failed
        (Kafka unreachable, a leader unknown) or a topic has no partitions known (its
        metadata was never read): the caller tries again later."""
        unknown = sorted(t for t, count in partitions.items() if count <= 0)
        if unknown:
            raise KafkaException(f"no partitions known for {', '.join(unknown)}")
        tps = [KafkaTP(t, p) for t, count in sorted(partitions.items()) for p in range(count)]
        for part in self._offsets.committed(tps, timeout=KAFKA_REQUEST_TIMEOUT_S):
            if part.error is not None:
                raise KafkaException(part.error)
        with self._turns.agent():
            ends = self._consumer.offsets_for_times(
                [KafkaTP(tp.topic, tp.partition, OFFSET_END) for tp in tps],
                timeout=KAFKA_REQUEST_TIMEOUT_S,
            )
        for part in ends:
            if part.error is not None:
                raise KafkaException(part.error)

    def watermarks(self, tp: PartitionId) -> tuple[int, int]:
        with self._turns.agent():
            low, high = self._consumer.get_watermark_offsets(
                KafkaTP(tp[0], tp[1]), timeout=KAFKA_REQUEST_TIMEOUT_S
            )
        return int(low), int(high)

    def cached_high_watermark(self, tp: PartitionId) -> int | None:
        """The partition's high watermark from its last fetch response (librdkafka keeps
        it with every fetch; no request is made); None before the first fetch."""
        with self._turns.agent():
            _, high = self._consumer.get_watermark_offsets(KafkaTP(tp[0], tp[1]), cached=True)
        return int(high) if high >= 0 else None

    # ---- Kafka group offsets ------------------------------------------------------------

    def committed(
        self, tps: Sequence[PartitionId]
    ) -> dict[PartitionId, tuple[int, str | None] | None]:
        """Committed (next offset, metadata) per partition, None where none is stored;
        one request for all."""
        found = self._offsets.committed(
            [KafkaTP(t, p) for t, p in tps], timeout=KAFKA_REQUEST_TIMEOUT_S
        )
        out: dict[PartitionId, tuple[int, str | None] | None] = {}
        for part in found:
            if part.error is not None:
                raise KafkaException(part.error)
            tp = (part.topic, part.partition)
            out[tp] = (
                None
                if part.offset == OFFSET_INVALID or part.offset < 0
                else (
                    int(part.offset),
                    part.metadata,
                )
            )
        missing = set(tps) - out.keys()
        if missing:
            raise KafkaException(f"no committed-offset answer for {sorted(missing)}")
        return out

    def group_metadata(self) -> object:
        """The group's metadata for ``send_offsets_to_transaction`` (opaque; read when the
        offsets handle was made)."""
        return self._group_metadata

    def commit(self, offsets: Mapping[PartitionId, tuple[int, str]]) -> None:
        """Commit synchronously; raises on any partition's failure."""
        parts = [
            KafkaTP(t, p, offset, metadata=metadata)
            for (t, p), (offset, metadata) in offsets.items()
        ]
        result = self._offsets.commit(offsets=parts, asynchronous=False)
        failed = [tp for tp in result or () if tp.error is not None]
        if failed:
            raise KafkaException(failed[0].error)

    def close(self) -> None:
        with self._turns.agent():
            self._consumer.close()
        self._offsets.close()
