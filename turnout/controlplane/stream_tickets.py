"""Stream tickets: short-lived, single-use credentials for one deployment's event stream.

A browser's EventSource cannot send an ``Authorization`` header, so the stream needs a
credential in its URL, where access logs, proxies and browser history keep it. A ticket
makes that harmless: it is obtained with the bearer token, names one principal and one
deployment, and is worth nothing after its first use or :data:`TICKET_TTL_S`.

Life of a ticket::

    issued ──redeem (same deployment, before expiry)──▶ spent (removed)
      │ ──redeem for another deployment───────────────▶ spent (removed; refused)
      └─ TICKET_TTL_S passes ─────────────────────────▶ expired (removed at the next
                                                         issue or redeem; refused)

A refused or spent ticket is gone: there is no second try with the same ticket.

Tickets live in this process's memory only (their SHA-256 hashes, so a memory dump of
the dict is no credential either). With several control-plane processes behind one
address, a ticket must be redeemed by the process that issued it: route a client's
requests to one process (sticky sessions), or the stream answers 401 and the dashboard
asks for a new ticket on its next reconnect.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from turnout.controlplane.security import hash_token

#: Recognisable prefix (log redaction, secret scanners) + 32 random bytes.
TICKET_PREFIX = "tst_"
#: A ticket is redeemed by the request the dashboard sends right after obtaining it;
#: 30 s covers a slow network and a busy browser, and keeps a leaked ticket short-lived.
TICKET_TTL_S = 30.0
#: Unredeemed tickets kept at most; past it the oldest are dropped. A viewer asking for
#: tickets in a loop costs bounded memory, and a legitimate client redeems at once.
MAX_OUTSTANDING_TICKETS = 10_000

P = TypeVar("P")


@dataclass(frozen=True)
class IssuedTicket:
    ticket: str
    expires_in_s: float


@dataclass(frozen=True)
class _Grant(Generic[P]):
    principal: P
    deployment: str
    expires_at: float


class StreamTickets(Generic[P]):
    """Issues and redeems tickets; safe to call from several threads."""

    def __init__(
        self,
        *,
        ttl_s: float = TICKET_TTL_S,
        capacity: int = MAX_OUTSTANDING_TICKETS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._capacity = capacity
        self._clock = clock
        self._lock = threading.Lock()
        # Insertion order is issue order, so the first entries are the oldest.
        self._grants: dict[str, _Grant[P]] = {}

    def issue(self, principal: P, deployment: str) -> IssuedTicket:
        ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._drop_expired(now)
            while len(self._grants) >= self._capacity:
                del self._grants[next(iter(self._grants))]
            self._grants[hash_token(ticket)] = _Grant(principal, deployment, now + self._ttl_s)
        return IssuedTicket(ticket=ticket, expires_in_s=self._ttl_s)

    def redeem(self, ticket: str, deployment: str) -> P | None:
        """The principal the ticket was issued to, once; None when it is unknown, spent,
        expired or issued for another deployment."""
        with self._lock:
            now = self._clock()
            grant = self._grants.pop(hash_token(ticket), None)
            self._drop_expired(now)
        if grant is None or grant.expires_at <= now or grant.deployment != deployment:
            return None
        return grant.principal

    def outstanding(self) -> int:
        with self._lock:
            self._drop_expired(self._clock())
            return len(self._grants)

    def _drop_expired(self, now: float) -> None:
        # Every grant has the same lifetime, so expired ones are a prefix of the dict.
        while self._grants:
            oldest = next(iter(self._grants))
            if self._grants[oldest].expires_at > now:
                return
            del self._grants[oldest]
