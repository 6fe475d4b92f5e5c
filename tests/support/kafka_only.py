"""A dedicated Kafka broker for tests that stop and start Kafka (never the session's).

The devstack's ``StandaloneKafka``: its own free ports and state directory, data kept
across ``stop``/``start``. One per test module (a start costs a JVM); a test that stops
it starts it again before it ends. This fixture starts it and always stops it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from turnout.devstack.errors import StackError
from turnout.devstack.standalone import StandaloneKafka


@pytest.fixture(scope="module")
def dedicated_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneKafka]:
    kafka = StandaloneKafka(tmp_path_factory.mktemp("kafka-only"))
    try:
        kafka.start()
    except StackError as exc:
        pytest.fail(f"the dedicated Kafka did not start:\n{exc.render()}")
    try:
        yield kafka
    finally:
        kafka.stop()
