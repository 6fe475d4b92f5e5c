"""CallbackServer: who serves librdkafka's callbacks, on a fake poll."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from turnout.producer.serving import POLL_SLICE_S, CallbackServer

#: Generous: these tests share a loaded machine; a healthy run takes milliseconds.
WAIT_S = 10.0


class FakePoll:
    """Records who polled and for how long; a poll with a wait sleeps briefly, as a real
    one does while no callback is queued."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self.fail_next = False
        self.lock = threading.Lock()

    def __call__(self, timeout: float) -> int:
        with self.lock:
            self.calls.append((threading.current_thread().name, timeout))
            fail, self.fail_next = self.fail_next, False
        if fail:
            raise RuntimeError("a callback raised")
        if timeout:
            time.sleep(min(timeout, 0.002))
        return 0

    def by(self, thread: str) -> list[float]:
        with self.lock:
            return [timeout for name, timeout in self.calls if name == thread]


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.001)


@pytest.fixture
def poll() -> FakePoll:
    return FakePoll()


@pytest.fixture
def server(poll: FakePoll) -> Iterator[CallbackServer]:
    serving = CallbackServer(poll, "test")
    serving.start()
    yield serving
    assert serving.stop()


def test_the_poller_serves_when_nobody_answers_its_request(
    poll: FakePoll, server: CallbackServer
) -> None:
    wait_until(lambda: len(poll.by("test-poller")) >= 3)
    assert set(poll.by("test-poller")) == {POLL_SLICE_S}
    assert server.serve_requested


def test_the_poller_stays_out_while_the_producing_thread_answers(
    poll: FakePoll, server: CallbackServer
) -> None:
    wait_until(lambda: bool(poll.by("test-poller")))
    answered = 0
    until = time.monotonic() + 0.3
    polled_before = len(poll.by("test-poller"))
    while time.monotonic() < until:
        if server.serve_requested:  # what the per-message path checks
            server.serve_inline()
            answered += 1
        time.sleep(0)
    # The poller serves only when an answer is late (a loaded machine delays the
    # producing thread too): a small share of the serves, not its slices back to back.
    polled = len(poll.by("test-poller")) - polled_before
    assert answered >= 10
    assert polled <= max(2, answered // 10)
    assert set(poll.by("MainThread")) == {0}


def test_once_answers_stop_the_poller_serves_again(poll: FakePoll, server: CallbackServer) -> None:
    until = time.monotonic() + 0.1
    while time.monotonic() < until:
        if server.serve_requested:
            server.serve_inline()
        time.sleep(0)
    polled = len(poll.by("test-poller"))
    wait_until(lambda: len(poll.by("test-poller")) > polled)


def test_inline_serving_skips_while_another_holds_the_turn(poll: FakePoll) -> None:
    server = CallbackServer(poll, "idle")
    with server.turn():
        server.serve_inline()
    assert poll.calls == []
    server.serve_inline()
    assert poll.calls == [("MainThread", 0)]


def test_a_waiter_for_room_serves_for_its_wait(poll: FakePoll) -> None:
    server = CallbackServer(poll, "idle")
    server.serve_requested = True
    server.serve_for(0.05)
    assert poll.calls == [("MainThread", 0.05)]
    assert not server.serve_requested


def test_a_quiet_moment_excludes_serving(poll: FakePoll) -> None:
    server = CallbackServer(poll, "idle")
    with server.quiet(0.01) as quiet:
        assert quiet
        server.serve_inline()
        with server.quiet(0.01) as nested:
            assert not nested
    assert poll.calls == []


def test_a_failing_callback_does_not_stop_the_poller(
    poll: FakePoll, server: CallbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, "turnout.producer"):
        poll.fail_next = True
        wait_until(lambda: not poll.fail_next)
        count = len(poll.by("test-poller"))
        wait_until(lambda: len(poll.by("test-poller")) > count)
    assert "serving the producer's callbacks failed" in caplog.text


def test_after_stop_only_a_holder_of_the_turn_polls(poll: FakePoll) -> None:
    server = CallbackServer(poll, "stopping")
    server.start()
    assert server.stop()
    polled = len(poll.calls)
    server.serve_inline()
    server.serve_for(0.01)
    assert len(poll.calls) == polled


def test_a_caller_waiting_for_the_turn_gets_it_when_the_slice_in_progress_ends() -> None:
    class IdlePoll(FakePoll):
        """A poll with nothing to serve: it waits its whole timeout."""

        def __call__(self, timeout: float) -> int:
            with self.lock:
                self.calls.append((threading.current_thread().name, timeout))
            time.sleep(timeout)
            return 0

    poll = IdlePoll()
    server = CallbackServer(poll, "idle", poll_slice_s=0.01)
    server.start()
    try:
        wait_until(lambda: bool(poll.by("idle-poller")))
        for _ in range(20):
            slices_before = len(poll.by("idle-poller"))
            with server.turn():
                # At most the slice that began before the caller asked (a lock is not
                # fair: without the poller's deference it can take the turn back).
                assert len(poll.by("idle-poller")) - slices_before <= 1
            time.sleep(0.003)
    finally:
        assert server.stop()
