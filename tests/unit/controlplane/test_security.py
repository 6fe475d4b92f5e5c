from __future__ import annotations

from turnout.controlplane.security import (
    TOKEN_PREFIX,
    ApiRole,
    hash_token,
    new_token,
    token_matches,
)


def test_roles_include_the_ones_before_them() -> None:
    assert ApiRole.ADMIN.allows(ApiRole.OPERATOR) and ApiRole.ADMIN.allows(ApiRole.VIEWER)
    assert ApiRole.OPERATOR.allows(ApiRole.VIEWER) and not ApiRole.OPERATOR.allows(ApiRole.ADMIN)
    assert not ApiRole.VIEWER.allows(ApiRole.OPERATOR)


def test_tokens_are_random_prefixed_and_stored_only_as_sha256() -> None:
    first, second = new_token(), new_token()
    assert first != second and first.startswith(TOKEN_PREFIX) and len(first) > 40
    stored = hash_token(first)
    assert len(stored) == 64 and first not in stored
    assert token_matches(first, stored) and not token_matches(second, stored)
