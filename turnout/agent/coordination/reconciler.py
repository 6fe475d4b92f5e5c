"""The reconciler: what this instance should hold, and getting there.

A reconcile re-reads the world (directive, registrations: ``deployment_read``) and
converges to it; it is level-triggered, so repeating it is always safe, and the loop
runs one on watch events (debounced by the intake) and every ``RESYNC_INTERVAL_S``
regardless, since a lost watch must not leave the agent wrong for long.

What to hold follows from the directive's binding for this colour:

    no directive ──▶ hold nothing; close the consumer once nothing is held
    directive giving this colour another side of a mirror than the agent reads
        (``Directive.crossing_refusal``) ──▶ hold nothing, report it once, not ready
    standby (no binding) ──▶ hold nothing; keep a consumer of the live group open (no
        assignment) and the live topics' partition counts fresh, and warm it up once
        (``KafkaSource.warm_up``: the group coordinator and every leader answered), so
        a switch to live claims without building a consumer or a first round trip to
        anyone (*warm*; ``warm`` says when, readiness depends on it); once warm, the
        dispatcher is told what the colour expects to claim (``WarmStandby``)
    binding ──▶ agree on the binding's owner map with the colour's peers
        (``agreement``) and hold what it gives this instance
    binding of another group ──▶ release everything under the old group first

The directive just read goes to ``before_claims`` (the settings follower) before any
claim: a partition's first record runs under the deployment's processing settings.

Applying the wanted set: release what is held but not wanted, re-stamp what is kept at a
new epoch, claim the rest; the state is REBALANCING until the held set is the wanted one
at the directive's epoch, then RUNNING (or PAUSED). Partition counts come from Kafka
metadata, polled every ``METADATA_POLL_INTERVAL_S`` (Kafka has no watch); a count never
shrinks (a lower one is a metadata hiccup, and believing it would release partitions).
A binding's ``topic_pattern`` is resolved on the same read: the topics it takes join the
counts, and the binding acted on (or kept warm) is the directive's with them listed
(``Binding.resolved``), so a topic created to match is taken up within a poll, like a
partition added.

Why this module is long: what to hold and getting there share one state (the wanted
set and since when, the partition counts, the warm binding, the adopted assignment);
split, each half would read and write the other's fields.

Failures: a ZooKeeper request that times out ends the reconcile, asks for another and
for a sweep of owner nodes this session may have created unseen; a view older than the
published assignment's, or no agreement within its rounds, asks for another; a failed
metadata read is reported and retried at the next poll, and so is a failed warm-up; a
consumer that keeps failing them while a new client reaches the cluster is renewed
(``source_health``): everything held is released, the consumer closed and opened again,
and the partitions claimed again at their committed offsets, as on a change of group.
"""

from __future__ import annotations

from collections.abc import Callable

from turnout.agent.coordination.agreement import (
    StaleView,
    View,
    agree,
    foreseen_partitions,
    members_of_colour,
    owners_of,
)
from turnout.agent.coordination.context import CoordinationContext
from turnout.agent.coordination.deployment_read import DeploymentRead, read_deployment
from turnout.agent.coordination.session import Session
from turnout.agent.coordination.source_health import SourceHealth
from turnout.agent.coordination.states import AgentState
from turnout.agent.datapath import DataPath
from turnout.agent.ephemerals import sweep_owner_nodes
from turnout.agent.lease import LeaseState
from turnout.protocol import Binding, Directive, PublishedAssignment, Role
from turnout.protocol.partitions import PartitionId
from turnout.zk import ZkNoNodeError, ZkUnavailableError

#: Re-read everything this often even without events: watches are one-shot and a lost
#: one must not leave the agent wrong for long (level-triggered safety net).
RESYNC_INTERVAL_S = 10.0
#: Drain bound before any directive was read: the directive's own default
#: (``Directive.drain_timeout_ms``), so a release behaves the same either way.
DEFAULT_DRAIN_TIMEOUT_S = 10.0
#: How often to look for partition-count changes in Kafka metadata (Kafka has no watch).
METADATA_POLL_INTERVAL_S = 5.0


class Reconciler:
    def __init__(
        self,
        context: CoordinationContext,
        session: Session,
        data: DataPath,
        before_claims: Callable[[Directive | None], None],
    ) -> None:
        self._config = context.config
        self._paths = context.paths
        self._clock = context.environment.clock
        self._intake = context.intake
        self._board = context.board
        self._metrics = context.metrics
        self._log = context.log
        self._session = session
        self._data = data
        self._feed = data.feed
        self._before_claims = before_claims
        self._crossing = context.environment.crossing
        #: Why the directive's side of a mirror for our colour is not the one this agent
        #: was started on (``Directive.crossing_refusal``): then it owns nothing.
        self.crossing_refused: str | None = None
        self.directive: Directive | None = None
        #: The binding this instance acts on (None: standby, or no directive).
        self.binding: Binding | None = None
        #: The directive epoch the held partitions last matched in full.
        self.applied_epoch = 0
        self._desired: set[PartitionId] = set()
        self._desired_since: dict[PartitionId, float] = {}
        #: Partition counts of the binding acted on (or kept warm).
        self._partitions: dict[str, int] = {}
        self._partitions_read_at = 0.0
        #: The live binding a standby keeps a consumer open for (and partition counts of).
        self._warm_binding: Binding | None = None
        #: The binding the open consumer was warmed up for (None: not, or not yet).
        self._warmed_up: Binding | None = None
        #: The last read of ZooKeeper (spares re-reading unchanged registrations).
        self._last_read: DeploymentRead | None = None
        #: (path, inputs digest) of the published assignment this instance acts on.
        self._adopted: tuple[str, str] | None = None
        self._last_resync = 0.0
        #: The consumer's failed requests in a row, and whether it is being renewed
        #: (``source_health``): released, closed and opened again.
        self._source_health = SourceHealth()
        self._renewing_source = False

    # ---- what the loop calls --------------------------------------------------------------

    def due(self, now: float) -> bool:
        """Whether a reconcile is due: the events ask for one, or the resync does."""
        return now - self._last_resync >= RESYNC_INTERVAL_S or self._intake.debounce_over(now)

    def reconcile(self) -> None:
        """Re-read the world and converge to it (level-triggered: safe to repeat)."""
        zk = self._session.gateway
        assert zk is not None
        self._intake.reconcile_started()
        self._last_resync = self._clock()
        if self._session.lease.state() is not LeaseState.VALID or not zk.connected:
            return
        try:
            desired = self._desired_partitions()
            if desired is None:
                self._intake.reconcile_soon()
                return
            self._before_claims(self.directive)
            self._apply(desired)
            if self._intake.take_sweep_due():
                self._sweep()
        except ZkUnavailableError as exc:
            self._intake.request_sweep()
            self._board.report_error(f"reconcile interrupted: {exc}")
            self._intake.reconcile_soon()

    def claim_pending(self) -> None:
        """Owner nodes the pending claims waited for went: claim them now, without a
        full reconcile (a handover's gap is this wait)."""
        self._apply(self._desired)

    def check_assignment(self) -> None:
        """Reconcile soon if the published assignment is no longer the one we act on."""
        zk = self._session.gateway
        assert zk is not None
        adopted = self._adopted
        if adopted is None:
            self._intake.reconcile_soon()
            return
        path, digest = adopted
        try:
            data, _ = zk.get(path, watch=self._intake.on_watch)
        except ZkNoNodeError:
            self._intake.reconcile_soon()
            return
        if PublishedAssignment.from_bytes(data).inputs != digest:
            self._intake.reconcile_soon()

    @property
    def warm(self) -> bool:
        """A standby's consumer is warm for the live binding (see the module)."""
        return self._warm_binding is not None and self._warmed_up == self._warm_binding

    def poll_metadata(self, now: float) -> None:
        """Every ``METADATA_POLL_INTERVAL_S``, re-read the partition counts of the binding
        acted on or kept warm; reconcile soon if they changed. A failed warm-up is tried
        again on the same beat."""
        if now - self._partitions_read_at <= METADATA_POLL_INTERVAL_S:
            return
        watched = self.binding or self._warm_binding
        if (
            self._feed.source is not None
            and watched is not None
            and self._read_partitions(watched) is not None
        ):
            self._intake.reconcile_soon()
        if self._warm_binding is not None and not self.warm:
            self._warm_up(self._warm_binding)

    def steady_state(self) -> AgentState:
        """RUNNING or PAUSED once the held partitions are the wanted ones at the
        directive's epoch; REBALANCING until then."""
        held = self._feed.held
        if held.keys() != self._desired or any(
            h.claim.epoch != self._epoch() for h in held.values()
        ):
            return AgentState.REBALANCING
        if self.directive is not None and self.directive.paused:
            return AgentState.PAUSED
        return AgentState.RUNNING

    # ---- what to hold ---------------------------------------------------------------------

    def _epoch(self) -> int:
        return self.directive.epoch if self.directive else 0

    def _desired_partitions(self) -> set[PartitionId] | None:
        """What this instance should own now; None if no agreement yet (retry)."""
        zk = self._session.gateway
        assert zk is not None
        read = self._last_read = read_deployment(
            zk, self._paths, self._intake.on_watch, self._last_read
        )
        directive = self.directive = read.directive
        if directive is not None and self._refuses_crossing(directive):
            self._adopted = None
            self._feed.warm_standby.request(None)
            return set()
        binding = directive.binding_for(self._config.colour) if directive else None
        if directive is None or binding is None:
            self._adopted = None
        if directive is None or binding is not None:
            self._feed.warm_standby.request(None)
        if self._renewing_source:
            self._apply(set())
            if self._feed.held:
                return None  # a release to finish (or its final commit to retry) first
            self._renewing_source = False
            self._retire_source()
        if directive is None:
            self._retire_source()
            return set()
        if binding is None:
            self._keep_warm(directive.live.resolved(self._partitions))
            if self.warm:
                self._feed.warm_standby.request(
                    directive.live.group,
                    foreseen_partitions(
                        directive,
                        self._config.colour,
                        self._config.instance,
                        read.registrations,
                        self._partitions,
                    ),
                )
            return set()
        pinned = binding == directive.live
        binding = binding.resolved(self._partitions)
        source = self._feed.source
        if source is not None and source.group != binding.group:
            # The binding changed group: release under the old one first.
            self._apply(set())
            if self._feed.held:
                return None
            self._retire_source()
        if self.binding is None and binding != self._warm_binding:
            # Taking up a binding the standby did not keep warm: re-read the counts. (A
            # warm standby's counts are at most METADATA_POLL_INTERVAL_S old, like a live
            # instance's, and a view that differs from the agreed one is re-read anyway.)
            self._partitions_read_at = 0.0
        self._warm_binding = None
        self.binding = binding
        role = directive.roles[self._config.colour]
        if self._feed.source is None:
            self._open_source(binding, role)
        else:
            # A warm standby's consumer of the live group is kept when it goes live.
            self._feed.role = role
        stale = self._clock() - self._partitions_read_at > METADATA_POLL_INTERVAL_S
        if stale or not any(self._partitions.get(t) for t in binding.topics):
            self._read_partitions(binding)
            self.binding = binding = binding.resolved(self._partitions)
        counts = self._partitions
        members = members_of_colour(read.registrations, self._config.colour)
        if self._config.instance not in members:
            # Our registration is gone (deleted by hand?): register again, then decide.
            self._session.unregistered()
            return None
        view = View(
            directive=directive,
            colour=self._config.colour,
            group=binding.group,
            members=members,
            members_version=read.members_version,
            partitions={t: counts.get(t, 0) for t in binding.topics},
            use_pins=pinned,
        )
        try:
            record = agree(
                zk,
                self._paths.assignment(binding.group),
                view,
                self._config.instance,
                watch=self._intake.on_watch,
            )
        except StaleView as exc:
            self._log.debug("stale view: %s", exc)
            self._partitions_read_at = 0.0  # maybe our partition counts are old
            return None
        if record is None:
            return None
        self._adopted = (self._paths.assignment(binding.group), record.inputs)
        return {tp for tp, owner in owners_of(record).items() if owner == self._config.instance}

    def _refuses_crossing(self, directive: Directive) -> bool:
        """Whether the directive puts our colour on another side of a mirror than this
        agent's consumers read; a new refusal is reported once."""
        refusal = directive.crossing_refusal(self._config.colour, self._crossing)
        if refusal != self.crossing_refused:
            self.crossing_refused = refusal
            if refusal is not None:
                self._board.report_error(refusal)
            self._board.mark_changed()
        return refusal is not None

    def _open_source(self, binding: Binding, role: Role) -> None:
        self._feed.open_source(binding.group, role)
        self._partitions_read_at = 0.0

    def _retire_source(self) -> None:
        if self._feed.retire_source():
            self.binding = None
            self._warm_binding = None
            self._warmed_up = None

    def _keep_warm(self, live: Binding) -> None:
        """Standby: own nothing, but keep a consumer of the live group open (no
        assignment) and the live topics' partition counts fresh."""
        if self._feed.held:
            return  # still releasing under the old binding; a later reconcile comes back
        self.binding = None
        source = self._feed.source
        if source is None or source.group != live.group:
            self._retire_source()
            self._feed.open_source(live.group, Role.STANDBY)
            self._partitions_read_at = 0.0
        if self._warm_binding != live:
            self._partitions_read_at = 0.0
        self._warm_binding = live
        self._feed.role = Role.STANDBY
        stale = self._clock() - self._partitions_read_at > METADATA_POLL_INTERVAL_S
        if stale or not all(t in self._partitions for t in live.topics):
            self._read_partitions(live)
            live = live.resolved(self._partitions)
            self._warm_binding = live
        if not self.warm:
            self._warm_up(live)

    def _warm_up(self, live: Binding) -> None:
        source = self._feed.source
        assert source is not None
        try:
            source.warm_up({t: self._partitions.get(t, 0) for t in live.topics})
        except Exception as exc:
            self._board.report_error(f"Kafka warm-up: {exc}")
            self._source_failed()
            return
        self._source_health.succeeded()
        self._warmed_up = live
        self._board.mark_changed()

    def _read_partitions(self, binding: Binding) -> dict[str, int] | None:
        """Fresh partition counts if they changed since the last read, else None."""
        source = self._feed.source
        assert source is not None
        try:
            fresh = source.partition_counts(
                binding.topics, binding.matches if binding.topic_pattern else None
            )
        except Exception as exc:
            self._board.report_error(f"Kafka metadata: {exc}")
            self._source_failed()
            return None
        finally:
            # From the read's end: a read that failed after its whole timeout is not
            # followed at once by the next, and the fetch gets its turns in between.
            self._partitions_read_at = self._clock()
        self._source_health.succeeded()
        # Kafka partitions never shrink: a lower count is a metadata hiccup (a topic in
        # leader election reports an error), and believing it would release partitions.
        counts = {t: max(n, self._partitions.get(t, 0)) for t, n in fresh.items()}
        if counts == self._partitions:
            return None
        self._log.info("partitions %s", counts, extra={"event": "partitions"})
        self._partitions = counts
        missing = sorted(t for t, n in counts.items() if n == 0)
        if missing:
            # An instance owns nothing of a topic Kafka does not know (a typo, or a topic
            # not created yet): say so once per change instead of idling silently.
            self._board.report_error(
                f"topic {', '.join(missing)} not found on {self._config.kafka}: nothing of "
                "it is consumed until it exists"
            )
        return counts

    def _source_failed(self) -> None:
        """Count a failed request of the consumer; when a probe is due, ask a new client
        whether the cluster answers, and renew the consumer if it does (``source_health``)."""
        source = self._feed.source
        if not self._source_health.failed() or source is None or self._renewing_source:
            return
        if not source.cluster_answers():
            self._board.report_error(
                f"Kafka {self._config.kafka} unreachable: a new client cannot read its "
                "metadata either; waiting for it"
            )
            return
        self._renewing_source = True
        self._metrics.inc("consumer_renewals")
        self._board.report_error(
            f"Kafka consumer of group {source.group} cut off from {self._config.kafka} "
            "while a new client reaches it: renewing it (partitions released, then "
            "claimed again at their committed offsets)"
        )
        self._intake.reconcile_soon()

    # ---- getting there ------------------------------------------------------------------

    def _apply(self, desired: set[PartitionId]) -> None:
        """Release what we hold but should not, re-stamp what we keep, claim the rest."""
        now = self._clock()
        epoch = self._epoch()
        for tp in desired - self._desired:
            self._desired_since[tp] = now
        for tp in self._desired - desired:
            self._desired_since.pop(tp, None)
        changed = desired != self._desired
        self._desired = set(desired)
        data = self._data
        held = self._feed.held
        # A closed partition (a release whose final commit failed, retried now) is
        # released even if wanted again: its dispatcher lane is gone, so it would stay
        # held and never processed; released, it is claimed afresh below, from its commit.
        releasing = [tp for tp, h in held.items() if tp not in desired or h.closed]
        if changed or releasing:
            self._metrics.inc("rebalances")
        if releasing or (desired - held.keys()):
            self._board.set_state(AgentState.REBALANCING)
        if releasing:
            drain_s = (
                self.directive.drain_timeout_ms / 1000
                if self.directive
                else DEFAULT_DRAIN_TIMEOUT_S
            )
            data.releases.release_many(releasing, now + drain_s)
        for tp, h in list(held.items()):
            if h.claim.epoch != epoch and tp in desired:
                data.claims.restamp(tp, epoch)
        claims = sorted(desired - held.keys())
        paused = self.directive is not None and self.directive.paused
        if claims:
            assert self.binding is not None
            data.claims.claim_many(
                claims, self.binding.group, epoch, self._desired_since, start_now=not paused
            )
        self._feed.refresh_active(self._desired, paused)
        if held.keys() == desired and all(h.claim.epoch == epoch for h in held.values()):
            if self.applied_epoch != epoch:
                self._log.info(
                    "applied epoch %d", epoch, extra={"event": "applied", "epoch": epoch}
                )
            self.applied_epoch = epoch
        if self._board.state not in (AgentState.FENCED, AgentState.REJOINING):
            self._board.set_state(self.steady_state())
        self._metrics.owned_partitions.set(len(held))
        self._board.mark_changed()

    def _sweep(self) -> None:
        """Delete owner nodes this session (or an old one) holds but we do not track,
        under the binding we act on and every binding of the directive: a claim cut off
        just before a switch made this instance standby leaves nodes of its session,
        which would keep the live colour from those partitions."""
        zk = self._session.gateway
        assert zk is not None
        directive = self.directive
        bindings = {self.binding, self._warm_binding}
        if directive is not None:
            bindings |= {directive.live, directive.preview}
        ours = {self._session.lease.session_id, *self._session.old_sessions}
        for binding in sorted((b for b in bindings if b is not None), key=str):
            held = self._feed.held.keys() if binding == self.binding else set()
            for tp in sweep_owner_nodes(zk, self._paths, binding, ours, held):
                self._log.warning(
                    "deleted stale owner node %s/%d",
                    tp[0],
                    tp[1],
                    extra={"event": "swept", "topic": tp[0], "partition": tp[1]},
                )
