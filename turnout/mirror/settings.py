"""The mirror's own settings, typed, from options or ``TURNOUT_MIRROR_*`` variables.

The agent's settings (deployment, colour, instance, ZooKeeper, the SOURCE cluster as
``kafka``) are ``AgentConfig``'s; these say where and how records are copied. A secured
target cluster is reached with the ``TURNOUT_KAFKA_*`` lines of ``target_security_file``
(``turnout.protocol.kafka_security``; the process's own ``TURNOUT_KAFKA_*`` variables are
the source's), never with secrets on a command line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from turnout.mirror.checkpoints import CHECKPOINT_INTERVAL_S, SAME_GROUP
from turnout.protocol.kafka_security import KafkaSecurity, load_kafka_security_file
from turnout.protocol.mirror import NamingMode, TopicNaming

#: How often the target topics' configs are compared with their sources': a config change
#: is rare, and a pass costs two admin round trips per topic.
CONFIG_SYNC_INTERVAL_S = 30.0


class MirrorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TURNOUT_MIRROR_", extra="ignore")

    #: The target cluster's bootstrap servers.
    target_kafka: str = Field(min_length=1)
    #: An env file of ``TURNOUT_KAFKA_*`` lines: how to reach a secured target cluster
    #: (None: plaintext, anonymous).
    target_security_file: Path | None = None
    #: The source cluster's short name: the default prefix is ``<source_alias>.``.
    source_alias: str = Field(default="source", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    naming: NamingMode = NamingMode.PREFIX
    prefix: str | None = None
    template: str | None = None
    #: Add the source topic, partition and offset to each copy as headers.
    coordinate_headers: bool = False
    #: Source consumer groups whose translated offsets are kept committed on the target
    #: (``turnout.mirror.checkpoints``).
    checkpoint_groups: list[str] = Field(default_factory=list)
    #: The target group of a checkpointed group: ``{group}`` is the source group's name.
    checkpoint_group_template: str = Field(default=SAME_GROUP, pattern=r"\{group\}")
    #: Seconds between two checkpoints of the groups.
    checkpoint_interval_s: float = Field(default=CHECKPOINT_INTERVAL_S, gt=0)
    #: Topic configs never copied nor synced, though allowed (``CONFIG_ALLOW_LIST``).
    config_deny: frozenset[str] = frozenset()
    #: How often the target topics' configs are brought in step with the sources'.
    config_sync_interval_s: float = Field(default=CONFIG_SYNC_INTERVAL_S, gt=0)

    def target_security(self) -> KafkaSecurity:
        """How every client reaches the target cluster (read from its file each time, so
        a rotated password file is picked up by the next client built)."""
        if self.target_security_file is None:
            return KafkaSecurity()
        return load_kafka_security_file(self.target_security_file)

    def topic_naming(self) -> TopicNaming:
        return TopicNaming(
            mode=self.naming,
            source_alias=self.source_alias,
            prefix=self.prefix,
            template=self.template,
        )
