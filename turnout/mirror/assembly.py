"""A mirror agent's parts: its processor, the ``CodePolicy`` that writes it to the
target cluster, and the offset syncs it records there, from the agent's config (the
source) and the mirror's settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from turnout.agent.config import AgentConfig
from turnout.agent.processors.output_target import OutputTarget
from turnout.agent.work.deployment import CodePolicy
from turnout.agent.work.outcomes import FailedDecision
from turnout.mirror.checkpoints import Checkpointer
from turnout.mirror.config_sync import ConfigSync
from turnout.mirror.copier import mirror_processor
from turnout.mirror.settings import MirrorSettings
from turnout.mirror.sync_topic import SyncWriter
from turnout.mirror.target_topics import TARGET_METADATA_REFRESH_MS, MirrorRoutes, TargetTopics
from turnout.mirror.topic_shape import PartitionMismatchError, SourceTopicMissingError

#: How long a stopped mirror waits for its last offset syncs to be acknowledged: one more
#: sync only saves a translation some records of re-reading, so a target that does not
#: answer must not hold the process's exit.
SYNCS_CLOSE_TIMEOUT_S = 5.0

#: What an exhausted failure of these does, whatever the deployment's ``on_exhausted``:
#: a topic whose target cannot take its partitions (or whose source is gone) holds its
#: own partitions' commits at their first record, in the status as errors, while the
#: other topics go on being copied; once the target is fixed, the partitions' next owner
#: (a restart, a switch) copies from there. Stopping the whole agent would stop every
#: healthy topic for one bad one.
TOPIC_FAILURE_DECISIONS: Mapping[type[BaseException], FailedDecision] = {
    PartitionMismatchError: FailedDecision.DO_NOT_COMMIT_AND_CONTINUE,
    SourceTopicMissingError: FailedDecision.DO_NOT_COMMIT_AND_CONTINUE,
}


@dataclass(frozen=True)
class MirrorParts:
    #: The batch processor: give it to ``Agent`` as its handler.
    handler: Callable[..., object]
    #: ``Agent``'s ``code_policy``: a batch processor written to the target.
    code_policy: CodePolicy
    target: OutputTarget
    #: Keeps the settings' checkpoint groups committed on the target; None without any.
    checkpointer: Checkpointer | None
    #: Keeps the target topics' configs in step.
    config_sync: ConfigSync
    #: Writes the offset syncs.
    syncs: SyncWriter

    def start(self) -> None:
        """With the agent: the checkpointer (if any) and the config sync's threads."""
        if self.checkpointer is not None:
            self.checkpointer.start()
        self.config_sync.start()

    def stop(self, timeout_s: float = SYNCS_CLOSE_TIMEOUT_S) -> None:
        """After the agent stopped: stop the threads (those never started too), write out
        the held offset syncs and release the mirror's own producer."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.config_sync.stop()
        self.syncs.close(timeout_s)


def mirror_parts(config: AgentConfig, settings: MirrorSettings) -> MirrorParts:
    source_admin = {"bootstrap.servers": config.kafka, **config.kafka_client_properties}
    # Holds the target's password, if any: handed to clients, never logged.
    target_security = settings.target_security().client_config()
    target_admin = {"bootstrap.servers": settings.target_kafka, **target_security}
    naming = settings.topic_naming()
    topics = TargetTopics(naming, source_admin, target_admin, config_deny=settings.config_deny)
    syncs = SyncWriter(settings.target_kafka, config.deployment, naming, client=target_security)
    target = OutputTarget(
        bootstrap=settings.target_kafka,
        routes=MirrorRoutes(topics),
        producer_properties={"topic.metadata.refresh.interval.ms": str(TARGET_METADATA_REFRESH_MS)},
        client_properties=target_security,
        observer=syncs,
    )
    handler = mirror_processor(topics, coordinate_headers=settings.coordinate_headers)
    policy = CodePolicy(
        batch=True,
        processor=True,
        output_target=target,
        failure_decisions=TOPIC_FAILURE_DECISIONS,
    )
    checkpointer = None
    if settings.checkpoint_groups:
        checkpointer = Checkpointer(
            config.kafka,
            settings.target_kafka,
            config.deployment,
            settings.checkpoint_groups,
            template=settings.checkpoint_group_template,
            interval_s=settings.checkpoint_interval_s,
            source_client=config.kafka_client_properties,
            target_client=target_security,
        )
    sync = ConfigSync(topics, settings.config_sync_interval_s)
    return MirrorParts(handler, policy, target, checkpointer, sync, syncs)
