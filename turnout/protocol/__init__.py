"""The contract between the control plane and the agents: ZooKeeper paths and JSON shapes.

Both sides import this package and nothing else of each other. docs/protocol.md is the
prose version; tests/unit/protocol pins the wire format.
"""

from turnout.protocol.models import (
    AbsentPinPolicy,
    Binding,
    Colour,
    CommitMetadata,
    Directive,
    InstanceRegistration,
    InstanceStatus,
    OwnedPartition,
    Ownership,
    PartitionRef,
    PublishedAssignment,
    Role,
    Strategy,
    ZkOffset,
)
from turnout.protocol.paths import DeploymentPaths
from turnout.protocol.processing import (
    ExhaustedDecision,
    Guarantee,
    Ordering,
    OutputTopics,
    ProcessingSettings,
    UnsupportedSettings,
    validate_processing,
)

__all__ = [
    "AbsentPinPolicy",
    "Binding",
    "Colour",
    "CommitMetadata",
    "DeploymentPaths",
    "Directive",
    "ExhaustedDecision",
    "Guarantee",
    "InstanceRegistration",
    "InstanceStatus",
    "Ordering",
    "OutputTopics",
    "OwnedPartition",
    "Ownership",
    "PartitionRef",
    "ProcessingSettings",
    "PublishedAssignment",
    "Role",
    "Strategy",
    "UnsupportedSettings",
    "ZkOffset",
    "validate_processing",
]
