"""The exactly-once dead-letter sink: the letter (the work manager's headers) is written
through the runner's transaction for its record, after its topic is made sure of, and
the sink reports the outcome once."""

from __future__ import annotations

from typing import Any, cast

from turnout.agent import Record
from turnout.agent.processors.dead_letters import TransactionalDeadLetters
from turnout.agent.work.config import DeadLetterConfig
from turnout.agent.work.dead_letters import HEADER_ATTEMPTS, HEADER_GROUP

RECORD = Record("orders", 2, 41, b"k", b"v", [("trace", b"t1")], 0, 1)


class StandInRunner:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.produced: list[tuple[Any, ...]] = []
        self.fail = fail

    def dead_letter(self, record: Record, write: Any) -> None:
        if self.fail is not None:
            raise self.fail
        write(self)

    def produce(self, topic: str, value: object, key: object, headers: Any = None) -> None:
        self.produced.append((topic, value, key, headers))


class StandInTopics:
    def __init__(self) -> None:
        self.ensured: list[tuple[str, str]] = []

    def ensure(self, target: str, source: str) -> None:
        self.ensured.append((target, source))


def sink(runner: StandInRunner, topics: StandInTopics) -> TransactionalDeadLetters:
    return TransactionalDeadLetters(
        cast(Any, runner), cast(Any, topics), DeadLetterConfig(topic="{topic}.dead"), lambda: "g"
    )


def test_a_letter_goes_to_the_templates_topic_with_the_dead_letter_headers() -> None:
    runner, topics, reports = StandInRunner(), StandInTopics(), []
    sink(runner, topics).send(RECORD, ValueError("bad"), 3, reports.append)
    assert topics.ensured == [("orders.dead", "orders")]
    [(topic, value, key, headers)] = runner.produced
    assert (topic, value, key) == ("orders.dead", b"v", b"k")
    assert headers[0] == ("trace", b"t1")
    assert (HEADER_GROUP, b"g") in headers and (HEADER_ATTEMPTS, b"3") in headers
    assert reports == [None]


def test_a_letter_that_could_not_commit_is_reported_failed() -> None:
    failure = RuntimeError("fenced")
    runner, reports = StandInRunner(fail=failure), []
    sink(runner, StandInTopics()).send(RECORD, ValueError("bad"), 1, reports.append)
    assert reports == [failure] and runner.produced == []
