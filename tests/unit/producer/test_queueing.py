"""The queue-full policy, on a fake queue and a fake clock."""

from __future__ import annotations

import pytest

from turnout.producer import ProducerClosedError, QueueFullError, QueueFullPolicy
from turnout.producer.queueing import QUEUE_FULL_SERVE_S, wait_for_room


class FakeQueue:
    """A queue that stays full for ``full_for_s`` of fake time. Serving reports is what
    lets time pass (as a real serve waits for reports)."""

    def __init__(self, full_for_s: float) -> None:
        self.now = 0.0
        self.full_until = full_for_s
        self.retries = 0
        self.served: list[float] = []

    def clock(self) -> float:
        return self.now

    def serve_for(self, wait_s: float) -> None:
        self.served.append(wait_s)
        self.now += wait_s

    def retry(self) -> None:
        self.retries += 1
        if self.now < self.full_until:
            raise BufferError("Local: Queue full")

    def wait(self, policy: QueueFullPolicy, timeout_s: float) -> None:
        wait_for_room(
            self.retry,
            policy=policy,
            timeout_s=timeout_s,
            serve_for=self.serve_for,
            check_usable=lambda: None,
            full="the queue",
            clock=self.clock,
        )


def test_the_raise_policy_raises_at_once_without_retrying() -> None:
    queue = FakeQueue(full_for_s=1.0)
    with pytest.raises(QueueFullError, match="the queue is full"):
        queue.wait(QueueFullPolicy.RAISE, timeout_s=30.0)
    assert queue.retries == 0
    assert queue.served == []


def test_the_block_policy_serves_reports_until_there_is_room() -> None:
    queue = FakeQueue(full_for_s=0.35)
    queue.wait(QueueFullPolicy.BLOCK, timeout_s=30.0)
    assert queue.now >= 0.35
    assert queue.retries == len(queue.served) == 4


def test_each_wait_is_a_bounded_slice() -> None:
    queue = FakeQueue(full_for_s=1.0)
    queue.wait(QueueFullPolicy.BLOCK, timeout_s=30.0)
    assert max(queue.served) == QUEUE_FULL_SERVE_S


def test_the_block_policy_gives_up_at_its_timeout() -> None:
    queue = FakeQueue(full_for_s=100.0)
    with pytest.raises(QueueFullError, match=r"stayed full for 0\.25 s"):
        queue.wait(QueueFullPolicy.BLOCK, timeout_s=0.25)
    assert queue.now == pytest.approx(0.25)
    assert queue.served[-1] == pytest.approx(0.05)


def test_a_producer_closed_while_waiting_ends_the_wait() -> None:
    queue = FakeQueue(full_for_s=100.0)
    checks = 0

    def closes_on_the_third_check() -> None:
        nonlocal checks
        checks += 1
        if checks == 3:
            raise ProducerClosedError("closed")

    with pytest.raises(ProducerClosedError):
        wait_for_room(
            queue.retry,
            policy=QueueFullPolicy.BLOCK,
            timeout_s=30.0,
            serve_for=queue.serve_for,
            check_usable=closes_on_the_third_check,
            full="the queue",
            clock=queue.clock,
        )
    assert queue.retries == 2


def test_a_retry_refused_for_another_reason_propagates() -> None:
    def refused() -> None:
        raise ValueError("not a full queue")

    with pytest.raises(ValueError, match="not a full queue"):
        wait_for_room(
            refused,
            policy=QueueFullPolicy.BLOCK,
            timeout_s=30.0,
            serve_for=lambda _wait: None,
            check_usable=lambda: None,
            full="the queue",
        )
