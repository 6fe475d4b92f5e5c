"""A mirror to a secured target cluster (SASL_SSL, the secured stack's Kafka): the target's
credentials come from an env file of ``TURNOUT_KAFKA_*`` lines, never from the command
line nor from the process's own ``TURNOUT_KAFKA_*`` variables (those are the source's).

Source: the two-cluster stack's first cluster (plaintext); target: the secured stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.agent_kit import DEPLOYMENT, REPO_ROOT, World
from tests.support.mirror_kit import (
    create_source_topic,
    produce_keyed,
    read_topic,
    record_count,
    spawn_mirror,
    start_mirror,
)
from tests.support.services import Services, stack_passwords
from tests.support.waiting import wait_until
from turnout.protocol.kafka_security import load_kafka_security_file

SOURCE_PARTITIONS = 4
RECORDS = 400
#: Copying a few hundred records after an agent's start (interpreter, TLS handshakes),
#: on a 2-core machine shared with other test sessions.
MIRRORED_TIMEOUT_S = 120.0
#: A refused target shows in the agent's status after its first copy attempt.
REFUSED_TIMEOUT_S = 60.0
#: A mirror refused at start exits after reading its options.
START_REFUSED_TIMEOUT_S = 60.0


def test_a_mirror_copies_to_a_secured_target_with_credentials_from_a_file(
    two_clusters: Services, secured: Services, mirror_world: World, tmp_path: Path
) -> None:
    credentials = secured.client_settings["client"]
    target_client = load_kafka_security_file(credentials).client_config()
    topic, copies = mirror_world.topic, f"a.{mirror_world.topic}"
    create_source_topic(two_clusters.kafka, topic, SOURCE_PARTITIONS)
    produce_keyed(two_clusters.kafka, topic, RECORDS)
    mirror_world.create_directive()

    mirror = spawn_mirror(
        mirror_world, "m-1", secured.kafka, tmp_path, "--target-security-file", str(credentials)
    )
    wait_until(
        lambda: record_count(secured.kafka, copies, target_client) >= RECORDS,
        MIRRORED_TIMEOUT_S,
        lambda: (
            f"{record_count(secured.kafka, copies, target_client)} of {RECORDS} copied; "
            f"mirror output:\n{mirror.output()}"
        ),
    )
    assert read_topic(secured.kafka, copies, target_client) == read_topic(two_clusters.kafka, topic)
    assert mirror.terminate() == 0
    output = mirror.output()
    assert not [secret for secret in stack_passwords(secured) if secret in output]


def test_a_secured_target_that_refuses_the_credentials_is_an_error_in_status(
    two_clusters: Services, secured: Services, mirror_world: World, tmp_path: Path
) -> None:
    wrong_password = tmp_path / "wrong-password"
    wrong_password.write_text("not-the-password\n")
    credentials = tmp_path / "target.env"
    credentials.write_text(
        "TURNOUT_KAFKA_SECURITY_PROTOCOL=SASL_SSL\n"
        "TURNOUT_KAFKA_USERNAME=client\n"
        f"TURNOUT_KAFKA_PASSWORD_FILE={wrong_password}\n"
        f"TURNOUT_KAFKA_CA_FILE={_ca_file(secured)}\n"
    )
    create_source_topic(two_clusters.kafka, mirror_world.topic, SOURCE_PARTITIONS)
    produce_keyed(two_clusters.kafka, mirror_world.topic, RECORDS)
    mirror_world.create_directive()

    agent = start_mirror(
        mirror_world, "m-1", secured.kafka, source_alias="a", target_security_file=credentials
    )
    wait_until(
        lambda: any(
            secured.kafka in error and "authentication" in error.lower()
            for error in agent.status().errors
        ),
        REFUSED_TIMEOUT_S,
        lambda: f"errors: {agent.status().errors}",
    )
    # Nothing was copied, and nothing committed: the default decision stops the agent.
    assert agent.status().state == "STOPPED"
    right = load_kafka_security_file(secured.client_settings["client"]).client_config()
    assert record_count(secured.kafka, f"a.{mirror_world.topic}", right) == 0


def test_a_target_security_file_that_is_not_there_stops_the_mirror_at_start(
    two_clusters: Services, mirror_world: World, tmp_path: Path
) -> None:
    mirror_world.create_directive()
    missing = tmp_path / "nowhere.env"
    command = [
        sys.executable, "-m", "turnout", "mirror", "run",
        "--target-kafka", "127.0.0.1:1", "--target-security-file", str(missing),
        "--deployment", DEPLOYMENT, "--colour", "blue", "--instance", "m-1",
        "--zookeeper", mirror_world.zookeeper, "--kafka", mirror_world.kafka,
    ]  # fmt: skip
    finished = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=START_REFUSED_TIMEOUT_S,
    )
    assert finished.returncode == 2, finished.stderr
    assert str(missing) in finished.stderr and "not a file" in finished.stderr


def _ca_file(secured: Services) -> Path:
    security = load_kafka_security_file(secured.client_settings["client"])
    assert security.ca_file is not None
    return security.ca_file
