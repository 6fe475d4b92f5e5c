"""Coroutine processors run as plain calls: each worker thread keeps its own event loop."""

from __future__ import annotations

import asyncio
import threading

from turnout.agent import Output, Outputs
from turnout.agent.processors.coroutines import plain_processor


async def enrich(unit: object, out: Outputs) -> Output:
    await asyncio.sleep(0)
    out.send("audit", b"seen")
    return Output("enriched", f"{unit}|{id(asyncio.get_running_loop())}")


def test_a_plain_processor_is_called_as_it_is() -> None:
    def plain(unit: object, out: Outputs) -> None:
        return None

    called, close = plain_processor(plain)
    assert called is plain and close is None


def test_a_coroutine_processors_call_returns_what_it_returned_and_keeps_what_it_sent() -> None:
    called, close = plain_processor(enrich)
    out = Outputs()
    returned = called("r", out)
    assert isinstance(returned, Output) and str(returned.value).startswith("r|")
    assert [o.output for o in out.emitted(returned)] == ["audit", "enriched"]
    assert close is not None
    close()


def test_each_worker_thread_keeps_one_loop_and_close_closes_them() -> None:
    called, close = plain_processor(enrich)
    loops: dict[str, set[str]] = {}

    def worker(name: str) -> None:
        for _ in range(3):
            value = called("r", Outputs())
            assert isinstance(value, Output)
            loops.setdefault(name, set()).add(str(value.value).split("|")[1])

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert all(len(seen) == 1 for seen in loops.values())  # one loop per thread, kept
    assert loops["w0"] != loops["w1"]
    assert close is not None
    close()
