import base64
import json
from pathlib import Path

import pytest

from turnout.devstack import LocalStack, StackError, StackSettings, services
from turnout.devstack.settings import second_cluster_settings


def _settings(tmp_path: Path) -> StackSettings:
    return StackSettings(
        state_dir=tmp_path, zookeeper_port=12181, kafka_port=19092, kafka_controller_port=19093
    )


def test_zookeeper_config_binds_loopback_and_allows_short_sessions(tmp_path: Path) -> None:
    layout = services.write_zookeeper_config(_settings(tmp_path))
    config = layout.config_file.read_text().splitlines()
    assert "clientPort=12181" in config
    assert "clientPortAddress=127.0.0.1" in config
    assert "minSessionTimeout=1000" in config
    assert f"dataDir={tmp_path / 'zookeeper' / 'data'}" in config


def test_kafka_config_is_single_node_kraft_on_loopback(tmp_path: Path) -> None:
    layout = services.write_kafka_config(_settings(tmp_path))
    config = dict(
        line.split("=", 1) for line in layout.config_file.read_text().splitlines() if line
    )
    assert config["process.roles"] == "broker,controller"
    assert config["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert config["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert config["offsets.topic.replication.factor"] == "1"
    assert config["auto.create.topics.enable"] == "false"


def test_cluster_id_is_a_kafka_uuid_never_read_as_an_option() -> None:
    for _ in range(2000):  # a leading '-' comes up once in 64 draws
        cluster_id = services.new_cluster_id()
        assert len(cluster_id) == 22
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
        assert not cluster_id.startswith("-")


def test_zookeeper_probe_is_false_when_nothing_listens(tmp_path: Path) -> None:
    from turnout.devstack.process import free_port

    settings = StackSettings(state_dir=tmp_path, zookeeper_port=free_port())
    assert not services.zookeeper_is_ready(settings)


def test_second_cluster_has_its_own_ports_data_and_state_dir(tmp_path: Path) -> None:
    first = StackSettings(
        state_dir=tmp_path,
        kafka_port=19092,
        kafka_controller_port=19093,
        clusters=2,
        second_kafka_port=19192,
        second_kafka_controller_port=19193,
    )
    second = second_cluster_settings(first)
    first_config = _properties(services.write_kafka_config(first).config_file)
    second_layout = services.write_kafka_config(second)
    second_config = _properties(second_layout.config_file)
    assert second_config["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19192"
    assert second_config["controller.quorum.voters"] == "1@127.0.0.1:19193"
    assert second_config["log.dirs"] == str(tmp_path / "kafka-b" / "kafka" / "data")
    assert first_config["log.dirs"] == str(tmp_path / "kafka" / "data")
    assert first.second_kafka_bootstrap == second.kafka_bootstrap == "127.0.0.1:19192"
    assert second_layout.log_file == LocalStack(first).log_file("kafka-b")


def test_two_cluster_stack_lists_the_second_cluster_before_it_starts(tmp_path: Path) -> None:
    one = LocalStack(StackSettings(state_dir=tmp_path))
    two = LocalStack(StackSettings(state_dir=tmp_path, clusters=2))
    assert [s.name for s in one.status()] == ["zookeeper", "kafka"]
    assert [s.name for s in two.status()] == ["zookeeper", "kafka", "kafka-b"]
    assert not any(s.running for s in two.status())


def test_a_secured_stack_refuses_a_second_cluster(tmp_path: Path) -> None:
    stack = LocalStack(StackSettings(state_dir=tmp_path, secure=True, clusters=2))
    with pytest.raises(StackError, match="--clusters 2 is plain only"):
        stack.up()


def _properties(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def test_dev_status_json_lists_both_clusters_of_a_two_cluster_stack(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from turnout.devstack.cli import app

    result = CliRunner().invoke(
        app,
        ["status", "--json", "--state-dir", str(tmp_path)],
        env={"TURNOUT_DEV_CLUSTERS": "2", "TURNOUT_DEV_SECOND_KAFKA_PORT": "19192"},
    )
    assert result.exit_code == 1  # nothing runs
    listed = {service["name"]: service for service in json.loads(result.output)}
    assert list(listed) == ["zookeeper", "kafka", "kafka-b"]
    assert listed["kafka-b"]["running"] is False
    assert listed["kafka-b"]["log_file"] == str(tmp_path / "kafka-b" / "kafka" / "kafka.log")
