"""Who owns which partition: pure, deterministic assignment strategies.

The runtime calls ``compute_assignment`` on every rebalance and hands off the partitions
``moves`` lists; the control plane calls the same functions for its plan preview.
"""

from turnout.protocol.assignment.compute import compute_assignment
from turnout.protocol.assignment.manual import parse_pins
from turnout.protocol.assignment.result import AssignmentResult, Move, moves
from turnout.protocol.assignment.sticky import max_kept

__all__ = ["AssignmentResult", "Move", "compute_assignment", "max_kept", "moves", "parse_pins"]
