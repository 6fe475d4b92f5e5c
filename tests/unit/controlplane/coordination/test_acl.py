from __future__ import annotations

from turnout.controlplane.coordination.acl import (
    controlplane_only_writes,
    deployment_writes,
    digest_auth,
    open_acl,
)
from turnout.zk import ZkSecurity
from turnout.zk.acl import ANYONE, Permission, grants


def _digest(user: str, password: str) -> ZkSecurity:
    return ZkSecurity(auth="digest", username=user, password=password)


def test_only_the_control_plane_identity_may_write_and_everyone_may_read() -> None:
    acl = controlplane_only_writes(_digest("cp", "secret"))
    assert len(acl) == 2
    assert acl != open_acl()
    assert controlplane_only_writes(_digest("cp", "secret")) == acl
    assert controlplane_only_writes(_digest("cp", "other")) != acl
    cp = _digest("cp", "secret").acl_identity()
    assert cp is not None
    assert grants(acl, {cp}, Permission.WRITE)
    assert not grants(acl, {ANYONE}, Permission.WRITE)
    assert grants(acl, {ANYONE}, Permission.READ)


def test_a_deployments_directories_are_writable_by_its_agents_user_and_the_control_plane() -> None:
    acl = deployment_writes(ZkSecurity(auth="sasl", username="cp", password="x"), "team-a")
    for permission in (Permission.CREATE, Permission.DELETE, Permission.WRITE):
        assert grants(acl, {("sasl", "team-a")}, permission)
        assert grants(acl, {("sasl", "cp")}, permission)
        assert not grants(acl, {("sasl", "team-b"), ANYONE}, permission)
    assert grants(acl, {ANYONE}, Permission.READ)


def test_the_gateway_authenticates_with_a_digest_of_user_and_password() -> None:
    assert digest_auth("cp", "secret") == [("digest", "cp:secret")]
