"""The ACL helpers: the entries ZooKeeper's digest and world schemes expect."""

from __future__ import annotations

import base64
import hashlib

from kazoo.security import Permissions

from turnout.zk import digest_acl, open_acl, world_read_acl


def test_a_digest_entry_allows_everything_to_the_user_with_that_password_only() -> None:
    entry = digest_acl("controlplane", "s3cret")
    # ZooKeeper's digest scheme: user:base64(sha1("user:password")), never the password.
    hashed = base64.b64encode(hashlib.sha1(b"controlplane:s3cret").digest()).decode()
    assert (entry.id.scheme, entry.id.id) == ("digest", f"controlplane:{hashed}")
    assert entry.perms == Permissions.ALL
    assert digest_acl("controlplane", "other").id != entry.id


def test_the_world_read_entry_lets_anyone_read_and_nothing_else() -> None:
    entry = world_read_acl()
    assert (entry.id.scheme, entry.id.id) == ("world", "anyone")
    assert entry.perms == Permissions.READ


def test_the_open_acl_lets_anyone_do_anything_and_is_a_fresh_list_each_time() -> None:
    entries = open_acl()
    assert [(e.id.scheme, e.id.id, e.perms) for e in entries] == [
        ("world", "anyone", Permissions.ALL)
    ]
    entries.append(world_read_acl())
    assert len(open_acl()) == 1  # kazoo's shared constant was not changed
