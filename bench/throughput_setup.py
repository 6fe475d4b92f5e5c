"""What every consumer of the throughput benchmark shares: the topic's shape, the work
manager's configuration, the run limit."""

from __future__ import annotations

from turnout.agent.work import Ordering, WorkConfig
from turnout.protocol.processing import ProcessingSettings

PARTITIONS = 8
#: A run that takes longer than this has failed, it is not a slow sample.
RUN_LIMIT_S = 600.0
WORK = WorkConfig(ordering=Ordering.PARTITION)
#: The deployment's settings the CLI agent runs with: ``WORK``, said on the wire.
DEPLOYMENT_SETTINGS = ProcessingSettings(
    ordering=WORK.ordering.value,
    workers=WORK.workers,
    max_in_flight_records=WORK.max_in_flight,
    max_in_flight_per_partition=WORK.max_in_flight_per_partition,
)
