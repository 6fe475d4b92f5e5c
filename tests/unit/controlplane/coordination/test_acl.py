from __future__ import annotations

from turnout.controlplane.coordination.acl import controlplane_only_writes, digest_auth, open_acl


def test_only_the_control_plane_identity_may_write_and_everyone_may_read() -> None:
    acl = controlplane_only_writes("cp", "secret")
    assert len(acl) == 2
    assert acl != open_acl()
    assert controlplane_only_writes("cp", "secret") == acl
    assert controlplane_only_writes("cp", "other") != acl


def test_the_gateway_authenticates_with_a_digest_of_user_and_password() -> None:
    assert digest_auth("cp", "secret") == [("digest", "cp:secret")]
