from pathlib import Path

import pytest

from turnout.devstack import StackError, artifacts


def test_kafka_distribution_pom_pins_broker_and_log_binding() -> None:
    pom = artifacts.kafka_distribution("4.3.1").pom()
    assert "<artifactId>kafka_2.13</artifactId><version>4.3.1</version>" in pom
    assert "log4j-slf4j2-impl" in pom
    assert "<artifactId>slf4j-api</artifactId><version>2.0.17</version>" in pom


def test_zookeeper_distribution_includes_what_the_release_archive_would_add() -> None:
    pom = artifacts.zookeeper_distribution("3.9.5").pom()
    for needed in ("<artifactId>zookeeper</artifactId>", "metrics-core", "snappy-java"):
        assert needed in pom


def test_cache_dir_changes_when_dependencies_change(tmp_path: Path) -> None:
    a = artifacts.kafka_distribution("4.3.1")
    b = artifacts.Distribution(a.name, a.version, a.dependencies[:1])
    assert artifacts.distribution_dir(tmp_path, a) != artifacts.distribution_dir(tmp_path, b)
    assert artifacts.distribution_dir(tmp_path, a).name.startswith("kafka-4.3.1-")


def test_cache_key_of_the_pinned_versions_stays_the_one_caches_on_disk_were_built_under() -> None:
    # A changed key would make every machine download Kafka and ZooKeeper again.
    cache = Path("/cache")
    kafka = artifacts.distribution_dir(cache, artifacts.kafka_distribution("4.3.1"))
    zookeeper = artifacts.distribution_dir(cache, artifacts.zookeeper_distribution("3.9.5"))
    assert kafka == cache / "runtimes" / "kafka-4.3.1-563a0ca3de"
    assert zookeeper == cache / "runtimes" / "zookeeper-3.9.5-f7975a1f53"


def test_warm_cache_is_reused_without_running_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    distribution = artifacts.zookeeper_distribution("3.9.5")
    home = artifacts.distribution_dir(tmp_path, distribution)
    (home / "lib").mkdir(parents=True)
    (home / "lib" / "zookeeper-3.9.5.jar").write_bytes(b"jar")
    (home / artifacts.COMPLETE_MARKER).write_text("zookeeper-3.9.5.jar\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no mvn anywhere

    assert artifacts.fetch(tmp_path, distribution) == home / "lib"


def test_cold_cache_without_maven_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(StackError, match=r"Maven \(mvn\) is not on PATH"):
        artifacts.fetch(tmp_path, artifacts.zookeeper_distribution("3.9.5"))


def test_interrupted_download_without_marker_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    distribution = artifacts.zookeeper_distribution("3.9.5")
    home = artifacts.distribution_dir(tmp_path, distribution)
    (home / "lib").mkdir(parents=True)
    (home / "lib" / "half.jar").write_bytes(b"")
    assert not artifacts.is_cached(tmp_path, distribution)
