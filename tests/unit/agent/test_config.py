"""Configuration: arguments beat TURNOUT_AGENT_* variables beat a properties file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from turnout.agent.cli import BadInput, build_config, load_handler
from turnout.agent.config import AgentConfig, read_properties
from turnout.protocol import Colour

REQUIRED = {"deployment": "billing", "colour": "blue", "instance": "billing-1"}


def test_defaults_are_a_local_stack_with_kafka_offsets() -> None:
    config = AgentConfig(**REQUIRED)  # type: ignore[arg-type]
    assert config.colour is Colour.BLUE
    assert config.offset_store == "kafka" and config.auto_offset_reset == "earliest"
    assert config.fence_after_s == config.session_timeout_s - config.fence_margin_s


def test_properties_file_sets_fields_and_passes_kafka_properties_through(tmp_path: Path) -> None:
    path = tmp_path / "agent.properties"
    path.write_text(
        "# comment\n! also a comment\n"
        "deployment=billing\ncolour: green\ninstance = b-2\n"
        "session_timeout_s=4\nkafka.fetch.wait.max.ms=50\nkafka.client.rack=r1\n"
    )
    config = AgentConfig(properties_file=path)  # type: ignore[call-arg]
    assert (config.deployment, config.colour, config.instance) == ("billing", Colour.GREEN, "b-2")
    assert config.session_timeout_s == 4.0
    assert config.kafka_properties == {"fetch.wait.max.ms": "50", "client.rack": "r1"}


def test_environment_beats_the_file_and_arguments_beat_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "agent.properties"
    path.write_text("deployment=from-file\ncolour=blue\ninstance=i\nversion=file\n")
    monkeypatch.setenv("TURNOUT_AGENT_VERSION", "env")
    monkeypatch.setenv("TURNOUT_AGENT_PROPERTIES_FILE", str(path))
    monkeypatch.setenv("TURNOUT_AGENT_KAFKA_PROPERTIES", '{"fetch.min.bytes": 1}')
    assert AgentConfig().version == "env"  # type: ignore[call-arg]
    config = AgentConfig(version="arg")  # type: ignore[call-arg]
    assert config.version == "arg" and config.deployment == "from-file"
    assert config.kafka_properties == {"fetch.min.bytes": "1"}


def test_a_fence_margin_as_long_as_the_session_is_rejected() -> None:
    with pytest.raises(ValidationError, match="fence_margin_s"):
        AgentConfig(**REQUIRED, session_timeout_s=4, fence_margin_s=4)  # type: ignore[arg-type]


def test_the_agents_own_kafka_properties_cannot_be_overridden() -> None:
    with pytest.raises(ValidationError, match=r"enable\.auto\.commit"):
        AgentConfig(**REQUIRED, kafka_properties={"enable.auto.commit": "true"})  # type: ignore[arg-type]


def test_malformed_properties_lines_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.properties"
    path.write_text("deployment=x\njust words\n")
    with pytest.raises(ValueError, match=r"bad\.properties:2"):
        read_properties(path)


def test_cli_config_errors_are_one_line() -> None:
    with pytest.raises(BadInput, match=r"^invalid colour: "):
        build_config(deployment="d", colour="purple", instance="i")
    with pytest.raises(BadInput, match=r"^invalid instance: "):
        build_config(deployment="d", colour="blue", instance="no/slash")


def test_handlers_load_from_module_colon_attribute() -> None:
    assert load_handler("json:dumps").__name__ == "dumps"
    assert load_handler("os.path:join.__call__") is not None
    for spec, message in [
        ("json", "must look like"),
        ("json:", "must look like"),
        ("no_such_module_xyz:f", "cannot import"),
        ("json:nope", "has no attribute"),
        ("json:__doc__", "not callable"),
    ]:
        with pytest.raises(BadInput, match=message):
            load_handler(spec)


@pytest.mark.parametrize("root", ["/", "/zookeeper", "/zookeeper/quota", "turnout", "/a/../b"])
def test_a_zookeeper_root_that_is_not_a_tree_of_its_own_is_rejected(root: str) -> None:
    with pytest.raises(ValidationError, match="zk_root"):
        AgentConfig(**REQUIRED, zk_root=root)  # type: ignore[arg-type]
