"""The stack refuses to start with a one-line reason a person can act on."""

import socket
from pathlib import Path

import pytest

from turnout.devstack import LocalStack, StackError, StackSettings
from turnout.devstack.errors import read_log_tail
from turnout.devstack.process import free_port


def test_taken_port_is_named_in_the_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        stack = LocalStack(
            StackSettings(
                state_dir=tmp_path,
                zookeeper_port=free_port(),
                kafka_port=taken,
                kafka_controller_port=free_port(),
            )
        )
        with pytest.raises(StackError, match=rf"port {taken} \(Kafka\) .* is taken"):
            stack._check_ports()


def test_identical_ports_are_refused(tmp_path: Path) -> None:
    stack = LocalStack(StackSettings(state_dir=tmp_path, zookeeper_port=5000, kafka_port=5000))
    with pytest.raises(StackError, match="ports must differ"):
        stack._check_ports()


def test_missing_java_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(StackError, match="Java is not on PATH"):
        LocalStack(StackSettings(state_dir=tmp_path)).up()


def test_status_of_a_stack_never_started_is_down(tmp_path: Path) -> None:
    statuses = LocalStack(StackSettings(state_dir=tmp_path)).status()
    assert [(s.name, s.running, s.healthy) for s in statuses] == [
        ("zookeeper", False, False),
        ("kafka", False, False),
    ]


def test_error_render_carries_reason_and_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "kafka.log"
    log.write_text("\n".join(f"line {i}" for i in range(100)))
    error = StackError("kafka did not become ready within 120 s", read_log_tail(log, 3), log)
    rendered = error.render()
    assert rendered.splitlines()[0] == "error: kafka did not become ready within 120 s"
    assert "line 99" in rendered and "line 96" not in rendered
    assert str(log) in rendered


def test_unknown_service_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="unknown service 'postgres'"):
        LocalStack(StackSettings(state_dir=tmp_path)).log_file("postgres")
