"""A mirror deployment's copy, as both sides see it: where to and under which names.

The control plane validates a mirror's naming and shows its target topics; the mirror
agent names the topics it writes. Pure.

The target topic of a source topic is named in one of three ways, chosen by ``TopicNaming.mode``:

- ``prefix`` (the default): ``<prefix><topic>``, the prefix defaulting to
  ``<source alias>.`` (``orders`` from the cluster aliased ``a`` becomes ``a.orders``), so
  that two mirrors into one target cannot write to the same topic and a mirrored topic
  says where it came from;
- ``identity``: the source's own name (a migration's target, where consumers keep the
  names they know; two sources into one target would then collide);
- ``template``: ``{alias}`` and ``{topic}`` replaced in a template such as
  ``mirror.{alias}.{topic}``.

A name that is not a Kafka topic name (too long, a character Kafka refuses) is refused
when it is made, with the source topic named, never truncated or rewritten.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from turnout.protocol.processing import TOPIC_NAME

#: A source cluster's short name: in the default prefix and in templates.
SOURCE_ALIAS = r"^[A-Za-z0-9_-]{1,64}$"


class NamingMode(StrEnum):
    PREFIX = "prefix"
    IDENTITY = "identity"
    TEMPLATE = "template"


class TopicNameError(ValueError):
    """A source topic's target name is not a Kafka topic name."""


class TopicNaming(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: NamingMode = NamingMode.PREFIX
    #: The source cluster's short name, in the default prefix and in templates.
    source_alias: str = "source"
    #: ``prefix`` mode's prefix; None: ``<source_alias>.``.
    prefix: str | None = None
    #: ``template`` mode's template, holding ``{topic}``.
    template: str | None = None

    @model_validator(mode="after")
    def _template_names_the_topic(self) -> TopicNaming:
        template = self.template
        if self.mode is NamingMode.TEMPLATE and (template is None or "{topic}" not in template):
            raise ValueError("template naming needs a template holding {topic}")
        return self

    def target_topic(self, source_topic: str) -> str:
        """The target topic of ``source_topic``; raises :class:`TopicNameError`."""
        if self.mode is NamingMode.IDENTITY:
            name = source_topic
        elif self.mode is NamingMode.TEMPLATE:
            assert self.template is not None  # the validator requires it
            name = self.template.replace("{alias}", self.source_alias).replace(
                "{topic}", source_topic
            )
        else:
            prefix = f"{self.source_alias}." if self.prefix is None else self.prefix
            name = prefix + source_topic
        if name in (".", "..") or not TOPIC_NAME.fullmatch(name):
            raise TopicNameError(
                f"source topic {source_topic!r} would be mirrored to {name!r}, "
                "which is not a Kafka topic name"
            )
        return name


class MirrorSpec(BaseModel):
    """The directive's part of a mirror deployment (absent for any other deployment).

    Enumerated values are strings on the wire (the rule for version skew,
    docs/protocol.md): an agent that does not know a naming mode refuses it when it
    builds ``topic_naming``, visibly, rather than failing to read the whole directive.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    #: The control plane's name of the target cluster, and its bootstrap servers.
    target_cluster: str
    target_kafka: str = Field(min_length=1)
    source_alias: str = Field(pattern=SOURCE_ALIAS)
    naming: str = NamingMode.PREFIX.value
    prefix: str | None = None
    template: str | None = None
    #: Add the source topic, partition and offset to each copy as headers.
    coordinate_headers: bool = False

    def topic_naming(self) -> TopicNaming:
        """The naming; raises ``ValueError`` for a mode or template this side refuses."""
        return TopicNaming(
            mode=NamingMode(self.naming),
            source_alias=self.source_alias,
            prefix=self.prefix,
            template=self.template,
        )
