"""Where everything lives in ZooKeeper.

    <root>                                    default /turnout
    └── deployments/<deployment>/
        ├── directive                         persistent  Directive (desired state; CAS on version)
        ├── instances/<instance>              ephemeral   InstanceRegistration
        ├── status/<instance>                 ephemeral   InstanceStatus (observed state)
        ├── owners/<group>/<topic>/<partition> ephemeral  Ownership (at most one owner)
        ├── offsets/<group>/<topic>/<partition> persistent ZooKeeper offset backend's commits
        └── assignments/<group>               persistent PublishedAssignment (CAS; the
                                                         agents' agreed owner map, the
                                                         sticky strategy's ``previous``)

Names are validated (see ``NAME_PATTERN``) so they are safe as single path segments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_ROOT = "/turnout"
#: Deployment, instance and group names: what Kafka allows for a topic, minus nothing.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


def validate_name(kind: str, value: str) -> str:
    if not NAME_PATTERN.fullmatch(value) or value in {".", ".."}:
        raise ValueError(
            f"{kind} {value!r} must be 1-200 characters of letters, digits, '.', '_' or '-'"
        )
    return value


def _partition_segments(group: str, topic: str, partition: int) -> str:
    """``<group>/<topic>/<partition>``, each a valid single segment: a name with a '/'
    would otherwise address another deployment's or group's node."""
    if isinstance(partition, bool) or not isinstance(partition, int) or partition < 0:
        raise ValueError(f"partition {partition!r} must be a non-negative integer")
    return f"{validate_name('group', group)}/{validate_name('topic', topic)}/{partition}"


@dataclass(frozen=True)
class DeploymentPaths:
    root: str
    deployment: str

    def __post_init__(self) -> None:
        if not self.root.startswith("/") or (self.root != "/" and self.root.endswith("/")):
            raise ValueError(f"ZooKeeper root {self.root!r} must be absolute, without a trailing /")
        validate_name("deployment", self.deployment)

    @property
    def base(self) -> str:
        prefix = "" if self.root == "/" else self.root
        return f"{prefix}/deployments/{self.deployment}"

    @property
    def directive(self) -> str:
        return f"{self.base}/directive"

    @property
    def instances(self) -> str:
        return f"{self.base}/instances"

    def instance(self, name: str) -> str:
        return f"{self.instances}/{validate_name('instance', name)}"

    @property
    def statuses(self) -> str:
        return f"{self.base}/status"

    def status(self, name: str) -> str:
        return f"{self.statuses}/{validate_name('instance', name)}"

    @property
    def owners(self) -> str:
        return f"{self.base}/owners"

    def owner(self, group: str, topic: str, partition: int) -> str:
        return f"{self.owners}/{_partition_segments(group, topic, partition)}"

    @property
    def offsets(self) -> str:
        return f"{self.base}/offsets"

    def offset(self, group: str, topic: str, partition: int) -> str:
        return f"{self.offsets}/{_partition_segments(group, topic, partition)}"

    @property
    def assignments(self) -> str:
        return f"{self.base}/assignments"

    def assignment(self, group: str) -> str:
        return f"{self.assignments}/{validate_name('group', group)}"


def deployments_path(root: str = DEFAULT_ROOT) -> str:
    return f"{'' if root == '/' else root}/deployments"


#: ZooKeeper's own tree (quotas, dynamic configuration): no application writes there.
RESERVED_ZOOKEEPER_TREE = "/zookeeper"
#: Longer roots are a mistake, and every node path of a deployment starts with its root.
MAX_ROOT_LENGTH = 500
ROOT_PATTERN = re.compile(r"^/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


def validate_root(value: str) -> str:
    """``value`` if it is a usable root for Turnout's tree: absolute, without a trailing
    ``/``, not ``/`` itself (Turnout's nodes would mix with every other application's),
    not ZooKeeper's reserved ``/zookeeper`` tree, and no ``.``/``..`` segments."""
    if value == "/":
        raise ValueError("must not be /: give Turnout a tree of its own, e.g. /turnout")
    if len(value) > MAX_ROOT_LENGTH or not ROOT_PATTERN.fullmatch(value):
        raise ValueError(
            f"must be an absolute ZooKeeper path of at most {MAX_ROOT_LENGTH} characters, "
            "segments of letters, digits, '.', '_' or '-', without a trailing / (e.g. /turnout)"
        )
    if any(segment in {".", ".."} for segment in value.split("/")):
        raise ValueError("must not contain '.' or '..' segments")
    if value == RESERVED_ZOOKEEPER_TREE or value.startswith(RESERVED_ZOOKEEPER_TREE + "/"):
        raise ValueError(f"must not be {RESERVED_ZOOKEEPER_TREE} or under it: ZooKeeper's own tree")
    return value
