"""Who a bearer token is: its row, or the reason it is refused.

Every request looks its token up in the database (by hash: the hash is the index, not the
secret), so a revoked (deleted) token fails on its next request and nothing cached
outlives a revocation. A token authenticates with its current secret until ``expires_at``
and with the secret its latest rotation replaced until ``previous_expires_at``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from turnout.controlplane.errors import ApiError
from turnout.controlplane.models import ApiToken
from turnout.controlplane.security import hash_token

log = logging.getLogger(__name__)

#: ``last_used_at`` is written at most this often per token: a busy token would otherwise
#: write a row on every request, and "used in the last minute" is all an operator reading
#: the token list needs.
LAST_USED_RESOLUTION_S = 60.0


class FailureReason(StrEnum):
    MISSING = "missing"
    UNKNOWN = "unknown"  # never issued, or revoked
    EXPIRED = "expired"
    REPLACED = "replaced"  # a rotation replaced it and its grace period is over
    TICKET = "ticket"  # a stream ticket unknown, spent, expired or for another deployment
    TOKEN_IN_URL = "token_in_url"  # a secret sent where logs keep it: refused, whatever it is


_DETAIL = {
    FailureReason.MISSING: "missing bearer token",
    FailureReason.UNKNOWN: "invalid or revoked token",
    FailureReason.EXPIRED: "token expired",
    FailureReason.REPLACED: "token was rotated and its grace period is over",
    FailureReason.TICKET: "stream ticket unknown, already used or expired: get a new one",
    FailureReason.TOKEN_IN_URL: "a token in the URL is not accepted",
}


class AuthenticationFailedError(ApiError):
    """401; the app writes it to the audit log with its source (never the secret)."""

    status_code = 401

    def __init__(
        self, reason: FailureReason, token_name: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(detail or _DETAIL[reason])
        self.reason = reason
        self.token_name = token_name


def authenticate(session: Session, token: str | None, now: datetime) -> ApiToken:
    if not token:
        raise AuthenticationFailedError(FailureReason.MISSING)
    digest = hash_token(token)
    row = session.scalar(
        select(ApiToken).where(
            or_(ApiToken.token_hash == digest, ApiToken.previous_token_hash == digest)
        )
    )
    if row is None:
        raise AuthenticationFailedError(FailureReason.UNKNOWN)
    if row.token_hash == digest:
        valid_until, reason = row.expires_at, FailureReason.EXPIRED
    else:
        valid_until, reason = row.previous_expires_at, FailureReason.REPLACED
    if valid_until is not None and valid_until <= now:
        raise AuthenticationFailedError(reason, row.name)
    _note_use(session, row, now)
    return row


def still_valid(session: Session, token_name: str, now: datetime) -> FailureReason | None:
    """Why the token called ``token_name`` no longer authenticates, or None while it does:
    what a long-lived request (the event stream) asks again while it runs, so that a
    revocation or an expiry ends it too. (The secret a stream was opened with is not
    kept, so an old secret's stream after a rotation ends with its maximum age.)"""
    row = session.scalar(select(ApiToken).where(ApiToken.name == token_name))
    if row is None:
        return FailureReason.UNKNOWN
    if row.expires_at is not None and row.expires_at <= now:
        return FailureReason.EXPIRED
    return None


def _note_use(session: Session, row: ApiToken, now: datetime) -> None:
    stale = now - timedelta(seconds=LAST_USED_RESOLUTION_S)
    if row.last_used_at is not None and row.last_used_at > stale:
        return
    # The condition again in the UPDATE: concurrent requests (or replicas) write it once.
    try:
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == row.id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale),
            )
            .values(last_used_at=now)
        )
        session.commit()
    except OperationalError as exc:
        # SQLite's write lock held by a long writer, and this a read-only request: the
        # time is advisory, a later request writes it; the request goes on.
        session.rollback()
        log.info("token %s: last use not recorded this time: %s", row.name, exc.orig)
