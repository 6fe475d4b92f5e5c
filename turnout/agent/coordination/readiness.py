"""When an instance reports itself ready: it could take over its share of the live
binding at full speed now, so a switch to its colour starts processing at once.

    ready ⇔ registered on its session, RUNNING or PAUSED (a directive read and applied:
            what it holds is what the directive gives it, at the directive's epoch; not
            fenced), and
              standby: its warm-up for the live binding is done (the reconciler's: a
                  consumer of the live group open, the live topics' partition counts
                  read, the group coordinator and every partition leader answered), so
                  a switch claims without a first Kafka round trip to anyone;
              live or preview: nothing more (it is processing its binding).

Not ready: STARTING, REGISTERED (no directive read yet), REBALANCING (releases or claims
under way), FENCED, REJOINING, STOPPING, STOPPED, FAILED, and a standby still warming up
(or whose warm-up failed: Kafka unreachable, a topic missing; retried with the
reconciler's metadata polls).
"""

from __future__ import annotations

from turnout.agent.coordination.states import AgentState

#: The states of an instance settled in its role.
SETTLED = frozenset({AgentState.RUNNING, AgentState.PAUSED})


def is_ready(state: AgentState, *, registered: bool, standby: bool, warm: bool) -> bool:
    """Whether an instance in ``state`` is ready (see the module)."""
    return registered and state in SETTLED and (warm or not standby)
