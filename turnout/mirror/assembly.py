"""A mirror agent's parts: its processor and the ``CodePolicy`` that writes it to the
target cluster, from the agent's config (the source) and the mirror's settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from turnout.agent.config import AgentConfig
from turnout.agent.processors.output_target import OutputTarget
from turnout.agent.work.deployment import CodePolicy
from turnout.mirror.config_sync import ConfigSync
from turnout.mirror.copier import mirror_processor
from turnout.mirror.settings import MirrorSettings
from turnout.mirror.target_topics import TARGET_METADATA_REFRESH_MS, MirrorRoutes, TargetTopics


@dataclass(frozen=True)
class MirrorParts:
    #: The batch processor: give it to ``Agent`` as its handler.
    handler: Callable[..., object]
    #: ``Agent``'s ``code_policy``: a batch processor written to the target.
    code_policy: CodePolicy
    target: OutputTarget
    #: Keeps the target topics' configs in step: start it with the agent, stop it after.
    config_sync: ConfigSync


def mirror_parts(config: AgentConfig, settings: MirrorSettings) -> MirrorParts:
    source_admin = {"bootstrap.servers": config.kafka, **config.kafka_client_properties}
    target_admin = {"bootstrap.servers": settings.target_kafka}
    topics = TargetTopics(
        settings.topic_naming(), source_admin, target_admin, config_deny=settings.config_deny
    )
    target = OutputTarget(
        bootstrap=settings.target_kafka,
        routes=MirrorRoutes(topics),
        producer_properties={"topic.metadata.refresh.interval.ms": str(TARGET_METADATA_REFRESH_MS)},
    )
    handler = mirror_processor(topics, coordinate_headers=settings.coordinate_headers)
    policy = CodePolicy(batch=True, processor=True, output_target=target)
    sync = ConfigSync(topics, settings.config_sync_interval_s)
    return MirrorParts(handler, policy, target, sync)
