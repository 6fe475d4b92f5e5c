"""A fresh deployment for a benchmark's real agents: a ZooKeeper chroot of its own with a
directive whose live binding is one topic under a new group (and, if given, the
deployment's processing settings), removed afterwards."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from turnout.protocol import Binding, Colour, DeploymentPaths, Directive, Role
from turnout.protocol.directives import DirectiveStore
from turnout.protocol.processing import ProcessingSettings
from turnout.zk import ZkGateway

DEPLOYMENT = "bench"


@dataclass(frozen=True)
class BenchDeployment:
    #: Connect string with the deployment's chroot: what its agents are given.
    zookeeper: str
    group: str


@contextlib.contextmanager
def bench_deployment(
    zookeeper: str, topic: str, processing: ProcessingSettings | None = None
) -> Iterator[BenchDeployment]:
    chroot = f"/bench-{uuid.uuid4().hex[:8]}"
    root = ZkGateway(zookeeper)
    root.start()
    try:
        root.ensure_path(chroot)
        zk = ZkGateway(zookeeper + chroot)
        zk.start()
        group = f"agent-{uuid.uuid4().hex[:8]}"
        try:
            DirectiveStore(zk, DeploymentPaths("/turnout", DEPLOYMENT)).create(
                Directive(
                    epoch=1,
                    deployment=DEPLOYMENT,
                    live=Binding(group=group, topics=(topic,)),
                    roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
                    processing=processing,
                )
            )
            yield BenchDeployment(zookeeper + chroot, group)
        finally:
            zk.stop()
        root.delete(chroot, recursive=True)
    finally:
        root.stop()
