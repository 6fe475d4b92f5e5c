"""Dead letters of an exactly-once processor: each one written by its input partition's
transactional producer, in one transaction with the offset after its record.

So a dead letter and the commit that skips its record are atomic: a crash or a fencing
before the commit leaves neither (the next owner processes the record again), and a
``read_committed`` reader of the dead-letter topic sees each letter once. The letter is
the work manager's (``turnout.agent.work.dead_letters``): the record's key, value and
headers, then the ``turnout.dlq.*`` headers, to the deployment's topic template, the
topic looked up (and created, if the settings allow) before its first letter. The rate
guard and the failure decisions are the work manager's, unchanged.

Only the record's letter and its offset are in the transaction: the runner commits the
records before a failing one and leaves the failing record's outputs out of every
committed transaction (``ExactlyOnceRunner``), so none of a failed attempt's outputs is
ever visible. The failure policy hands a partition's letter over before the partition's
next run starts (an exclusive lane), so letters and runs commit in offset order.

Per letter::

    send ──topic missing and creating it is off, or the lookup failed──▶ failed
    send ──ownership over (another epoch, fenced, gate shut)──▶ failed
    send ──begin, produce, offsets, commit──▶ acknowledged (``on_done(None)``)
    send ──any of them failed──▶ aborted ──▶ failed (``on_done(error)``: the work
        manager holds the record and halts)
"""

from __future__ import annotations

from collections.abc import Callable

from turnout.agent.processors.exactly_once import ExactlyOnceRunner, OutputProducer
from turnout.agent.records import Record
from turnout.agent.work.config import DeadLetterConfig
from turnout.agent.work.dead_letters import DeadLetterTopics, Delivered, dead_letter_headers


class TransactionalDeadLetters:
    """A ``DeadLetterSink`` writing through an ``ExactlyOnceRunner`` (see the module)."""

    def __init__(
        self,
        runner: ExactlyOnceRunner,
        topics: DeadLetterTopics,
        config: DeadLetterConfig,
        group: Callable[[], str | None],
    ) -> None:
        self._runner = runner
        self._topics = topics
        self._config = config
        self._group = group

    def send(self, record: Record, error: BaseException, attempts: int, on_done: Delivered) -> None:
        config = self._config
        target = config.topic.format(topic=record.topic)
        headers = dead_letter_headers(
            record, self._group() or "", error, attempts, config.max_error_message_bytes
        )

        def write(producer: OutputProducer) -> None:
            producer.produce(target, record.value, record.key, headers=headers)

        try:
            self._topics.ensure(target, record.topic)
            self._runner.dead_letter(record, write)
        except Exception as exc:
            on_done(exc)
            return
        on_done(None)

    def close(self, timeout_s: float) -> None:
        """Nothing of its own: the runner closes the partitions' producers."""
        del timeout_s
