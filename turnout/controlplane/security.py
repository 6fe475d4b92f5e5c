"""API tokens and their access roles: random bearer tokens, stored only as SHA-256 hashes.

A token has 256 bits of randomness, so a fast unsalted hash is enough: there is nothing
to brute-force that a slow hash would protect (unlike a human-chosen password).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

#: Recognisable prefix (secret scanners, logs) + 32 random bytes.
TOKEN_PREFIX = "tnt_"


class ApiRole(StrEnum):
    """The access an API token grants; each includes the ones before it: viewer, operator, admin."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return ROLE_ORDER.index(self)

    def allows(self, needed: ApiRole) -> bool:
        """Each role includes the ones before it: admin ⊃ operator ⊃ viewer."""
        return self.rank >= needed.rank


ROLE_ORDER = (ApiRole.VIEWER, ApiRole.OPERATOR, ApiRole.ADMIN)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)
