"""Following the deployment's processing settings (``Directive.processing``) live.

Who decides (``SettingsFrom``): with ``"deployment"`` (the default of an agent built
without its own ``dispatcher_factory``) the directive's settings drive the dispatcher, and
the embedding code's dispatcher runs only while the directive carries none; with
``"code"`` (the default when the code passes a ``dispatcher_factory``) the code's
dispatcher runs whatever the directive says, and the status reports no settings version.
Either way the handler, and a failure decision per exception type the code fixes
(``CodePolicy``), stay the code's.

States (the agent thread; ``follow`` by the reconciler between its read of the directive
and its claims, so that a partition is first processed under the settings of the
directive it is claimed by, and once per step after the reconcile)::

    code's dispatcher ──directive carries settings v──▶ checking v
    applied(u) ──directive carries settings v ≠ u──▶ checking v
    checking v ──a value unknown here (UnsupportedSettings), or the dispatcher cannot be
        built──▶ refused(v): status ``processing_refused``, counter
        ``settings_refused``, one log line; the dispatcher running stays (last good
        settings), and v is not looked at again until the settings change
    checking v ──valid──▶ switching: the new dispatcher built, every held partition moved
        to it at a safe point (``datapath.Switchover``: runs in flight finish under the old
        settings, bounded by the directive's drain timeout; nothing lost or run twice; no
        ownership given up), commit batching set ──▶ applied(v): status
        ``processing_version`` v, counter ``settings_applied``, one log line
    applied(u) ──directive carries no settings──▶ switching back ──▶ code's dispatcher

A switch waits while the lease is not valid (fenced: nothing may be committed, and the
final commits could not be made); the next step after it is valid again switches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from turnout.agent.coordination.context import CoordinationContext
from turnout.agent.coordination.session import Session
from turnout.agent.datapath import DataPath
from turnout.agent.dispatch import DispatcherFactory
from turnout.agent.work.deployment import ProcessingPlan
from turnout.protocol import Directive
from turnout.protocol.processing import ProcessingSettings

#: Who decides how the agent processes: the deployment's settings, or the embedding code.
SettingsFrom = Literal["deployment", "code"]
#: Settings and the consumer group named in dead letters → the plan and its dispatchers.
SettingsBuilder = Callable[[ProcessingSettings, str], tuple[ProcessingPlan, DispatcherFactory]]
#: Drain bound of a switch before any directive was read (as ``Reconciler``'s).
DEFAULT_DRAIN_TIMEOUT_S = 10.0


class SettingsFollower:
    def __init__(
        self,
        context: CoordinationContext,
        session: Session,
        data: DataPath,
        *,
        settings_from: SettingsFrom,
        code_factory: DispatcherFactory,
        build: SettingsBuilder,
    ) -> None:
        self._config = context.config
        self._clock = context.environment.clock
        self._board = context.board
        self._metrics = context.metrics
        self._log = context.log
        self._session = session
        self._data = data
        self._settings_from = settings_from
        self._code_factory = code_factory
        self._build = build
        #: The settings the dispatcher runs with (None: the code's dispatcher).
        self.applied: ProcessingSettings | None = None
        #: The settings last looked at (applied, refused, or ignored): not looked at again.
        self._seen: ProcessingSettings | None = None

    def follow(self, directive: Directive | None) -> None:
        """Apply the directive's settings if they changed (see the module)."""
        settings = directive.processing if directive is not None else None
        if settings is self._seen or settings == self._seen:
            self._seen = settings
            return
        if not self._session.lease.valid():
            return  # fenced: switch once the lease is valid again
        assert directive is not None or settings is None
        self._seen = settings
        if self._settings_from == "code":
            if settings is not None:
                self._log.info(
                    "processing settings v%d ignored: this agent's code sets how it processes",
                    settings.version,
                    extra={"event": "settings_ignored", "version": settings.version},
                )
            return
        deadline = self._clock() + (
            directive.drain_timeout_ms / 1000 if directive is not None else DEFAULT_DRAIN_TIMEOUT_S
        )
        if settings is None:
            data = self._data
            data.switchover.switch(data.feed.build_dispatcher(self._code_factory), deadline)
            data.batcher.set_policy(self._config.commit_interval_s, self._config.commit_every)
            self.applied = None
            self._board.set_processing(None, None)
            self._log.info(
                "processing settings withdrawn: back to the code's dispatcher",
                extra={"event": "settings_applied", "version": None},
            )
            return
        assert directive is not None
        binding = directive.binding_for(self._config.colour) or directive.live
        data = self._data
        try:
            plan, factory = self._build(settings, binding.group)
            dispatcher = data.feed.build_dispatcher(factory)
        except Exception as exc:
            self._refuse(settings, f"{type(exc).__name__}: {exc}")
            return
        data.switchover.switch(dispatcher, deadline)
        data.batcher.set_policy(plan.commit_interval_s, plan.commit_every)
        self.applied = settings
        self._metrics.inc("settings_applied")
        self._board.set_processing(settings.version, None)
        self._log.info(
            "processing settings v%d applied: %s ordering, %d workers",
            settings.version,
            settings.ordering,
            settings.workers,
            extra={"event": "settings_applied", "version": settings.version},
        )

    def _refuse(self, settings: ProcessingSettings, reason: str) -> None:
        self._metrics.inc("settings_refused")
        refused = f"v{settings.version}: {reason}"
        self._board.set_processing(
            self.applied.version if self.applied is not None else None, refused
        )
        self._board.report_error(f"processing settings refused, {refused}; keeping the last good")
