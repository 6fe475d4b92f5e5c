import base64
from pathlib import Path

from turnout.devstack import StackSettings, services


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
