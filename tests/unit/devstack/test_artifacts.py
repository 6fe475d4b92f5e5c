from pathlib import Path

import pytest

from turnout.devstack import StackError, artifacts


def test_kafka_runtime_pom_pins_broker_and_log_binding() -> None:
    pom = artifacts.kafka_runtime("4.3.1").pom()
    assert "<artifactId>kafka_2.13</artifactId><version>4.3.1</version>" in pom
    assert "log4j-slf4j2-impl" in pom
    assert "<artifactId>slf4j-api</artifactId><version>2.0.17</version>" in pom


def test_zookeeper_runtime_includes_what_the_distribution_would_add() -> None:
    pom = artifacts.zookeeper_runtime("3.9.5").pom()
    for needed in ("<artifactId>zookeeper</artifactId>", "metrics-core", "snappy-java"):
        assert needed in pom


def test_cache_dir_changes_when_dependencies_change(tmp_path: Path) -> None:
    a = artifacts.kafka_runtime("4.3.1")
    b = artifacts.Runtime(a.name, a.version, a.dependencies[:1])
    assert artifacts.runtime_dir(tmp_path, a) != artifacts.runtime_dir(tmp_path, b)
    assert artifacts.runtime_dir(tmp_path, a).name.startswith("kafka-4.3.1-")


def test_warm_cache_is_reused_without_running_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = artifacts.zookeeper_runtime("3.9.5")
    home = artifacts.runtime_dir(tmp_path, runtime)
    (home / "lib").mkdir(parents=True)
    (home / "lib" / "zookeeper-3.9.5.jar").write_bytes(b"jar")
    (home / artifacts.COMPLETE_MARKER).write_text("zookeeper-3.9.5.jar\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no mvn anywhere

    assert artifacts.fetch(tmp_path, runtime) == home / "lib"


def test_cold_cache_without_maven_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(StackError, match=r"Maven \(mvn\) is not on PATH"):
        artifacts.fetch(tmp_path, artifacts.zookeeper_runtime("3.9.5"))


def test_interrupted_download_without_marker_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = artifacts.zookeeper_runtime("3.9.5")
    home = artifacts.runtime_dir(tmp_path, runtime)
    (home / "lib").mkdir(parents=True)
    (home / "lib" / "half.jar").write_bytes(b"")
    assert not artifacts.is_cached(tmp_path, runtime)
