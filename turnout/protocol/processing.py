"""How a deployment processes its records: the settings the control plane writes into the
directive and every agent of both colours applies.

The wire rule for version skew (docs/protocol.md, "Processing settings"):

- unknown FIELDS are ignored, as everywhere in the protocol, so a newer control plane
  can add a setting without breaking older agents;
- unknown VALUES of a field an agent does know (an ordering mode, a failure decision or an
  escalation action it has never heard of) are not ignored: that agent refuses the whole
  settings version visibly (status, metric, log) and keeps running with its last good
  settings. This is why those fields are strings on the wire and enums only after
  :func:`validate_processing` has read them: an older agent must still be able to parse
  the directive around settings it refuses.

``version`` grows by one with every change of the settings (the directive's ``epoch``
grows with every write of any kind); an agent reports the version it runs with.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Ordering(StrEnum):
    #: One record of a partition at a time, in offset order.
    PARTITION = "partition"
    #: One record of a key at a time, in offset order; different keys run concurrently.
    KEY = "key"
    #: Any record may run at any time; a failing record blocks nothing.
    UNORDERED = "unordered"


class ExhaustedDecision(StrEnum):
    """What happens to a record whose retries are used up."""

    #: Counted as complete (after the dead-letter topic acknowledged it, if enabled).
    COMMIT_AND_CONTINUE = "commit_and_continue"
    #: Held: the commit point stays at the record; the next owner processes it again.
    DO_NOT_COMMIT_AND_CONTINUE = "do_not_commit_and_continue"
    COMMIT_AND_STOP = "commit_and_stop"
    DO_NOT_COMMIT_AND_STOP = "do_not_commit_and_stop"


class EscalationAction(StrEnum):
    """What happens when too many records exhaust their retries within the window."""

    CONTINUE = "continue"
    #: The circuit breaker: no new record starts until the cooldown passes.
    PAUSE = "pause"
    STOP = "stop"


class Guarantee(StrEnum):
    """What a processor's outputs promise (docs/processors.md)."""

    #: Every input's outputs are written at least once: an input counts complete only
    #: once every output it caused is acknowledged.
    AT_LEAST_ONCE = "at_least_once"
    #: Outputs and input offsets commit in one Kafka transaction per input partition.
    EXACTLY_ONCE = "exactly_once"


#: A logical output's name: what a handler writes to, mapped to a topic per role. No
#: ``.``: ``turnout settings --set outputs.<name>.live=<topic>`` reads dots as nesting.
OUTPUT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: Kafka's own rule for topic names (legal characters, at most 249 of them).
TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RetrySettings(_Settings):
    #: Retries after the first attempt: 3 means up to 4 attempts.
    max_retries: int = Field(default=3, ge=0, le=1000)
    #: First retry delay; each further one ``multiplier`` times longer up to ``max_ms``.
    backoff_ms: int = Field(default=500, ge=0, le=3_600_000)
    multiplier: float = Field(default=2.0, ge=1.0, le=100.0)
    max_backoff_ms: int = Field(default=30_000, ge=0, le=3_600_000)
    #: Plus a uniform random 0..jitter, so retries of many records do not fire together.
    jitter_ms: int = Field(default=100, ge=0, le=3_600_000)
    #: How long one attempt may take before it counts as failed.
    attempt_timeout_ms: int = Field(default=60_000, ge=1, le=86_400_000)

    @model_validator(mode="after")
    def _max_is_at_least_the_first(self) -> RetrySettings:
        if self.max_backoff_ms < self.backoff_ms:
            raise ValueError("max_backoff_ms must be at least backoff_ms")
        return self


class EscalationSettings(_Settings):
    #: Escalate when this many records exhausted their retries within ``window_ms``.
    threshold: int = Field(default=100, ge=1, le=1_000_000)
    window_ms: int = Field(default=60_000, ge=1, le=86_400_000)
    action: str = EscalationAction.PAUSE.value
    #: How long PAUSE keeps the breaker open before it closes by itself.
    breaker_cooldown_ms: int = Field(default=30_000, ge=1, le=86_400_000)


class DeadLetterSettings(_Settings):
    enabled: bool = False
    #: ``{topic}`` is replaced by the record's topic.
    topic: str = Field(default="{topic}.dlq", min_length=1, max_length=249)
    #: Create a missing dead-letter topic before its first letter.
    create_topic: bool = True
    #: The rate guard: stop when more than ``max_ratio`` of the records finished within
    #: ``ratio_window_ms`` were dead-lettered (once ``min_samples`` finished), or after
    #: ``max_consecutive`` dead letters in a row.
    max_ratio: float = Field(default=0.1, gt=0.0, le=1.0)
    ratio_window_ms: int = Field(default=60_000, ge=1, le=86_400_000)
    min_samples: int = Field(default=100, ge=1, le=1_000_000)
    max_consecutive: int = Field(default=50, ge=1, le=1_000_000)


class OutputTopics(_Settings):
    """The topics one logical output writes to, per role of the colour that writes it.

    Both are required: a colour in the preview role writes only to ``preview``, so that a
    new version run on mirrored traffic can never write to production's topic.
    """

    live: str
    preview: str

    @field_validator("live", "preview")
    @classmethod
    def _a_topic_name(cls, value: str) -> str:
        if value in (".", "..") or not TOPIC_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a Kafka topic name")
        return value


class ProcessingSettings(_Settings):
    """Every processing setting of a deployment; see docs/work-management.md."""

    version: int = Field(default=1, ge=1)
    ordering: str = Ordering.PARTITION.value
    #: Handler calls running at once (threads, or tasks for coroutine handlers).
    workers: int = Field(default=10, ge=1, le=4096)
    #: Records and bytes accepted but not finished, over every partition: the memory bound.
    max_in_flight_records: int = Field(default=40_000, ge=1, le=10_000_000)
    max_in_flight_bytes: int = Field(default=256 * 1024 * 1024, ge=1024, le=64 * 1024**3)
    #: The same per partition (records): at the bound the partition's fetch pauses.
    max_in_flight_per_partition: int = Field(default=10_000, ge=1, le=10_000_000)
    retries: RetrySettings = RetrySettings()
    #: None: ``commit_and_continue`` when dead letters are enabled (the record is kept in
    #: the dead-letter topic), else ``do_not_commit_and_stop`` (nothing is committed that
    #: was neither processed nor kept).
    on_exhausted: str | None = None
    escalation: EscalationSettings = EscalationSettings()
    dead_letters: DeadLetterSettings = DeadLetterSettings()
    #: Commit a partition's progress at least this often, or every ``commit_every`` records.
    commit_interval_ms: int = Field(default=1_000, ge=10, le=3_600_000)
    commit_every: int = Field(default=20_000, ge=1, le=10_000_000)
    #: What a processor's outputs promise (:class:`Guarantee`); a plain handler, which
    #: writes nothing through Turnout, is not affected.
    guarantee: str = Guarantee.AT_LEAST_ONCE.value
    #: A processor's logical outputs, each mapped to a topic per role.
    outputs: dict[str, OutputTopics] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _per_partition_fits_the_total(self) -> ProcessingSettings:
        if self.max_in_flight_per_partition > self.max_in_flight_records:
            raise ValueError("max_in_flight_per_partition must not exceed max_in_flight_records")
        return self

    @field_validator("outputs")
    @classmethod
    def _outputs_keep_preview_apart(cls, value: dict[str, OutputTopics]) -> dict[str, OutputTopics]:
        for name in value:
            if not OUTPUT_NAME.fullmatch(name):
                raise ValueError(f"output name {name!r} must be 1-64 letters, digits, '_' or '-'")
        live = {topics.live: name for name, topics in value.items()}
        for name, topics in value.items():
            if topics.preview in live:
                raise ValueError(
                    f"output {name!r}: preview topic {topics.preview!r} is the live topic of "
                    f"output {live[topics.preview]!r}; a preview colour must never write to "
                    "a live topic"
                )
        return value


class UnsupportedSettings(ValueError):
    """Settings that name a value this side does not know: refused whole, never half-applied."""


def validate_processing(settings: ProcessingSettings) -> None:
    """Raise :class:`UnsupportedSettings` naming the first field whose value is unknown here."""
    known: tuple[tuple[str, str, type[StrEnum]], ...] = (
        ("ordering", settings.ordering, Ordering),
        ("on_exhausted", exhausted_decision_value(settings), ExhaustedDecision),
        ("escalation.action", settings.escalation.action, EscalationAction),
        ("guarantee", settings.guarantee, Guarantee),
    )
    for field, value, kind in known:
        if value not in {member.value for member in kind}:
            allowed = ", ".join(member.value for member in kind)
            raise UnsupportedSettings(f"{field} {value!r} is not one of {allowed}")


def exhausted_decision_value(settings: ProcessingSettings) -> str:
    """``on_exhausted``, with its default filled in."""
    if settings.on_exhausted is not None:
        return settings.on_exhausted
    if settings.dead_letters.enabled:
        return ExhaustedDecision.COMMIT_AND_CONTINUE.value
    return ExhaustedDecision.DO_NOT_COMMIT_AND_STOP.value
