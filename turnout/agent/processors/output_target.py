"""The seam by which code, rather than the deployment's ``outputs`` map, says where a
processor's outputs go: another Kafka cluster, and the routes to its topics.

Without one, a processor's producer writes to the agent's own (source) cluster, to the
topics the deployment's settings map per role. The mirror brings one: its producer is on
the target cluster and its routes name a target topic per source topic
(``turnout.mirror``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from turnout.agent.processors.routing import Routes


@dataclass(frozen=True)
class OutputTarget:
    #: The target cluster's bootstrap servers.
    bootstrap: str
    routes: Routes
    #: librdkafka properties of the producer on the target cluster (its security, say).
    producer_properties: Mapping[str, str] = field(default_factory=dict)
