"""A mirror deployment's part of the deployment bodies: where its copies go and under
which names (docs/mirror.md). Fixed at creation: moving a running mirror's output to
other topics or another cluster is a new deployment, not an update."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from turnout.protocol.mirror import SOURCE_ALIAS, NamingMode, TopicNaming
from turnout.protocol.topic_pattern import MAX_TOPIC_PATTERN_CHARS, validate_topic_pattern

_MIRROR_EXAMPLE: dict[str, Any] = {
    "target_cluster": "dr",
    "source_alias": "eu",
    "naming": "prefix",
    "coordinate_headers": True,
}


class MirrorBody(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_MIRROR_EXAMPLE]})

    target_cluster: str = Field(
        min_length=1, max_length=200, description="A registered cluster, not the source"
    )
    source_alias: str | None = Field(
        default=None,
        pattern=SOURCE_ALIAS,
        description="The source cluster's short name (default: its registered name)",
    )
    naming: NamingMode = NamingMode.PREFIX
    prefix: str | None = Field(
        default=None, max_length=200, description="prefix naming: default '<alias>.'"
    )
    template: str | None = Field(
        default=None, max_length=249, description="template naming: e.g. 'mirror.{alias}.{topic}'"
    )
    coordinate_headers: bool = Field(
        default=False, description="Add the source topic, partition and offset as headers"
    )
    source_topic_pattern: str | None = Field(
        default=None,
        max_length=MAX_TOPIC_PATTERN_CHARS,
        description=(
            "A regular expression (whole names; never Kafka's __ topics): every source "
            "topic it matches, now or created later, is mirrored too"
        ),
        examples=["orders\\..*"],
    )

    @field_validator("source_topic_pattern")
    @classmethod
    def _pattern_is_a_regex(cls, value: str | None) -> str | None:
        return None if value is None else validate_topic_pattern(value)

    @model_validator(mode="after")
    def _naming_is_whole(self) -> MirrorBody:
        self.topic_naming("source")  # a template without {topic} is refused here
        return self

    def topic_naming(self, default_alias: str) -> TopicNaming:
        return TopicNaming(
            mode=self.naming,
            source_alias=self.source_alias or default_alias,
            prefix=self.prefix,
            template=self.template,
        )


class MirrorPublic(BaseModel):
    target_cluster: str
    source_alias: str
    naming: NamingMode
    prefix: str | None
    template: str | None
    coordinate_headers: bool
    #: More source topics: those this pattern matches (None: the live topics only).
    source_topic_pattern: str | None = None
    #: Each live topic's copy on the target cluster.
    target_topics: dict[str, str]
