"""The data path: the partitions the agent holds, from claim to release, and their records.

The coordination package decides *which* partitions to hold; the data path carries it
out: owner nodes and offsets (``claims``), the consumer, the gate and the records' way to
the dispatcher (``feed``), commits (``commits``) and giving partitions up (``releases``).
Each module carries its part of the per-partition state machine.
"""

from turnout.agent.datapath.feed import POLL_TIMEOUT_S, RecordFeed
from turnout.agent.datapath.held import HeldPartition
from turnout.agent.datapath.parts import DataPath
from turnout.agent.datapath.seams import DataPathContext, Reports, Requests, SessionView

__all__ = [
    "POLL_TIMEOUT_S",
    "DataPath",
    "DataPathContext",
    "HeldPartition",
    "RecordFeed",
    "Reports",
    "Requests",
    "SessionView",
]
