"""Stream tickets: single use, bound to a deployment, short-lived, bounded in number."""

from __future__ import annotations

from turnout.controlplane.stream_tickets import TICKET_PREFIX, StreamTickets


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_ticket_gives_its_principal_once() -> None:
    tickets = StreamTickets[str]()
    issued = tickets.issue("alice", "billing")
    assert issued.ticket.startswith(TICKET_PREFIX)
    assert tickets.redeem(issued.ticket, "billing") == "alice"
    assert tickets.redeem(issued.ticket, "billing") is None


def test_a_ticket_for_another_deployment_is_refused_and_spent() -> None:
    tickets = StreamTickets[str]()
    issued = tickets.issue("alice", "billing")
    assert tickets.redeem(issued.ticket, "payroll") is None
    assert tickets.redeem(issued.ticket, "billing") is None


def test_a_ticket_expires_after_its_lifetime() -> None:
    clock = _Clock()
    tickets = StreamTickets[str](ttl_s=30.0, clock=clock)
    late, in_time = tickets.issue("alice", "billing"), tickets.issue("bob", "billing")
    clock.now += 29.9
    assert tickets.redeem(in_time.ticket, "billing") == "bob"
    clock.now += 0.1
    assert tickets.redeem(late.ticket, "billing") is None
    assert tickets.outstanding() == 0


def test_unknown_and_forged_tickets_are_refused() -> None:
    tickets = StreamTickets[str]()
    tickets.issue("alice", "billing")
    assert tickets.redeem("tst_forged", "billing") is None
    assert tickets.redeem("", "billing") is None


def test_outstanding_tickets_are_bounded_by_dropping_the_oldest() -> None:
    tickets = StreamTickets[str](capacity=2)
    first, second, third = (tickets.issue(p, "billing") for p in ("a", "b", "c"))
    assert tickets.outstanding() == 2
    assert tickets.redeem(first.ticket, "billing") is None
    assert tickets.redeem(second.ticket, "billing") == "b"
    assert tickets.redeem(third.ticket, "billing") == "c"
