from __future__ import annotations

from turnout.controlplane.domain.lag_status import PartitionSample
from turnout.controlplane.live_reading import LiveReading, PartitionReading
from turnout.controlplane.services.live_state import sample_of
from turnout.protocol import Colour, Ownership


def test_a_lag_sample_holds_the_live_partitions_whose_lag_is_known() -> None:
    owner = Ownership(instance="blue-0", colour=Colour.BLUE, session_id=1, epoch=1)
    reading = LiveReading(
        partitions=[
            PartitionReading("live", ("payments", 0), owner, 10, 12, 2),
            PartitionReading("live", ("payments", 1), None, None, 5, 5),
            PartitionReading("live", ("payments", 2), None, None, None, None),
            PartitionReading("preview", ("mirror", 0), None, 0, 9, 9),
        ]
    )
    assert sample_of(reading) == {
        "payments/0": PartitionSample(lag=2, committed=10, owned=True),
        "payments/1": PartitionSample(lag=5, committed=None, owned=False),
    }
