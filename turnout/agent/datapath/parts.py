"""The data path's parts, built and wired together, and the steps that span them."""

from __future__ import annotations

from turnout.agent.datapath.claims import Claims
from turnout.agent.datapath.commit_batcher import CommitBatcher
from turnout.agent.datapath.commits import Commits
from turnout.agent.datapath.feed import RecordFeed
from turnout.agent.datapath.releases import Releases
from turnout.agent.datapath.seams import DataPathContext
from turnout.agent.datapath.switchover import Switchover
from turnout.agent.dispatch import DispatcherFactory, Handler


class DataPath:
    """``feed`` (held partitions, gate, consumer, records), ``claims``, ``releases``,
    ``commits`` (batched by ``batcher``) and ``switchover`` (a new dispatcher). Building
    it builds the dispatcher (``dispatcher_factory``), whose workers may start at once."""

    def __init__(
        self, context: DataPathContext, dispatcher_factory: DispatcherFactory, handler: Handler
    ) -> None:
        config = context.config
        batcher = self.batcher = CommitBatcher(
            config.commit_interval_s, config.commit_every, context.environment.clock
        )
        self.feed = RecordFeed(context, dispatcher_factory, handler)
        self.commits = Commits(context, self.feed, batcher)
        self.releases = Releases(context, self.feed, batcher, self.commits)
        self.claims = Claims(context, self.feed, batcher, self.releases)
        self.switchover = Switchover(context, self.feed, batcher, self.commits, self.releases)

    def commit_due(self) -> None:
        """Commit what is due; drop what the store says is no longer ours."""
        for tp in self.commits.commit_due():
            self.releases.lose(tp)

    def drop_all(self) -> int:
        """The session is gone, and every ownership with it: shut the gate, drop every
        held partition without committing, forget the watches; how many were dropped."""
        feed = self.feed
        lost = list(feed.held)
        self.claims.forget_watches()
        feed.active = frozenset()
        for tp in lost:
            self.releases.drop(tp)
        return len(lost)
