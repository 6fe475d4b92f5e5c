"""A mirror agent's settings: the deployment's mirror part decides the naming, the process
may only give the target another address; a deployment that is not a mirror takes the
process's options."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from turnout.mirror.deployment_spec import MirrorSpecError, merged_settings
from turnout.protocol.mirror import MirrorSpec, NamingMode

SPEC = MirrorSpec(
    target_cluster="dr",
    target_kafka="dr-kafka:9092",
    source_alias="eu",
    naming="template",
    template="mirror.{alias}.{topic}",
    coordinate_headers=True,
)


def test_a_mirror_deployment_decides_the_target_and_the_naming() -> None:
    settings = merged_settings(SPEC, {})
    assert settings.target_kafka == "dr-kafka:9092"
    assert settings.topic_naming().target_topic("orders") == "mirror.eu.orders"
    assert settings.coordinate_headers


def test_the_process_may_reach_the_target_by_another_address() -> None:
    settings = merged_settings(SPEC, {"target_kafka": "10.0.0.7:9092"})
    assert settings.target_kafka == "10.0.0.7:9092"
    assert settings.naming is NamingMode.TEMPLATE


def test_a_local_option_that_agrees_with_the_deployment_is_accepted() -> None:
    settings = merged_settings(SPEC, {"source_alias": "eu", "naming": "template"})
    assert settings.source_alias == "eu"


def test_a_local_option_that_contradicts_the_deployment_is_refused_naming_both() -> None:
    with pytest.raises(MirrorSpecError, match=r"--source-alias 'us' contradicts .*'eu'"):
        merged_settings(SPEC, {"source_alias": "us"})
    with pytest.raises(MirrorSpecError, match="--coordinate-headers"):
        merged_settings(SPEC, {"coordinate_headers": False})


def test_a_naming_mode_this_agent_does_not_know_is_refused_not_guessed() -> None:
    newer = SPEC.model_copy(update={"naming": "hashed"})
    with pytest.raises(MirrorSpecError, match="not one this agent knows"):
        merged_settings(newer, {})


def test_a_plain_deployment_takes_the_process_options() -> None:
    settings = merged_settings(None, {"target_kafka": "b:9092", "source_alias": "a"})
    assert settings.topic_naming().target_topic("orders") == "a.orders"
    with pytest.raises(ValidationError):
        merged_settings(None, {"source_alias": "a"})  # no target anywhere
