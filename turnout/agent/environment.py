"""What the agent reaches the world through: its clock, ZooKeeper and Kafka.

The agent builds its ZooKeeper gateway and its Kafka consumers through an
``AgentEnvironment`` and reads every deadline from its clock. Production uses the
default: ``time.monotonic``, kazoo, confluent-kafka and a heartbeat thread. A test can
substitute an in-memory ZooKeeper, a Kafka without records and a clock it moves itself,
renew the lease itself (``heartbeat_thread=False``) and run ``AgentLoop.step`` itself,
and so drive the real state machine one step at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from turnout.agent.config import AgentConfig
from turnout.agent.kafka_source import KafkaSource
from turnout.protocol.crossing import Crossing
from turnout.zk import ZkGateway


def zookeeper_gateway(config: AgentConfig) -> ZkGateway:
    """The agent's session: kazoo, with requests bounded by the fence window (a request
    outlasting it is useless: the lease is gone by then)."""
    return ZkGateway(
        config.zookeeper,
        session_timeout_s=config.session_timeout_s,
        request_timeout_s=config.fence_after_s,
        security=config.zookeeper_security,
    )


def kafka_source(
    config: AgentConfig, group: str, kind: Callable[..., KafkaSource] = KafkaSource
) -> KafkaSource:
    """A confluent-kafka consumer of ``group``, assigned by the agent (never subscribed);
    ``kind`` builds it from ``KafkaSource``'s arguments (a subclass of it, say)."""
    return kind(
        config.kafka,
        group,
        client_id=f"turnout-{config.deployment}-{config.instance}",
        auto_offset_reset=config.auto_offset_reset,
        properties=config.kafka_client_properties,
    )


@dataclass(frozen=True)
class AgentEnvironment:
    #: Monotonic seconds: leases, debounces, resyncs, drain and stop deadlines.
    clock: Callable[[], float] = time.monotonic
    #: Waits of the agent thread that are part of its logic (a commit's retry backoff),
    #: so that a fake clock sees them pass.
    sleep: Callable[[float], None] = time.sleep
    new_gateway: Callable[[AgentConfig], ZkGateway] = zookeeper_gateway
    new_source: Callable[[AgentConfig, str], KafkaSource] = kafka_source
    #: False: nothing renews the lease unless the owner calls ``Session.renew_lease``.
    heartbeat_thread: bool = True
    #: The side of a mirror ``new_source``'s consumers read (None: the agent's own
    #: cluster's topics, as named); a directive giving the colour another side makes the
    #: agent own nothing (``Directive.crossing_refusal``).
    crossing: Crossing | None = None
