"""Response builders: rows and live readings as the bodies the API returns."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.controlplane.rows import AT, cluster_row, deployment_row, switch_row
from turnout.controlplane.coordination.agent_reports import RegisteredInstance
from turnout.controlplane.domain.lag_status import LagStatus
from turnout.controlplane.domain.switch_machine import initial_phases
from turnout.controlplane.live_reading import LiveReading, PartitionReading
from turnout.controlplane.models import ApiToken, AuditEntry, LagSample
from turnout.controlplane.responses import (
    audit_public,
    cluster_public,
    deployment_public,
    instance_public,
    lag_point,
    partition_public,
    state_public,
    switch_public,
    token_public,
)
from turnout.controlplane.security import ApiRole
from turnout.protocol import Colour, InstanceRegistration, InstanceStatus, Ownership, Role


def test_a_cluster_is_shown_with_its_addresses() -> None:
    assert cluster_public(cluster_row()).model_dump() == {
        "name": "local",
        "kafka_bootstrap": "127.0.0.1:9092",
        "zookeeper_connect": "127.0.0.1:2181",
        "zookeeper_root": "/turnout",
        "credentials": None,
    }


def test_a_deployment_shows_its_roles_live_colour_and_last_switch() -> None:
    deployment = deployment_row()
    body = deployment_public(deployment, switch_row(deployment))
    assert body.cluster == "local"
    assert body.active_colour is Colour.BLUE
    assert body.colours[Colour.GREEN].role is Role.STANDBY
    assert body.colours[Colour.GREEN].version == "1.5.0"
    assert body.live.topics == ["payments"] and body.preview is None
    assert body.epoch == 7 and body.version == 3
    assert body.last_switch is not None and body.last_switch.to_colour is Colour.GREEN
    assert deployment_public(deployment, None).last_switch is None


def test_a_switch_shows_each_phase_with_its_duration() -> None:
    stored = AT + timedelta(milliseconds=3)
    switch = switch_row(
        deployment_row(), kind="rollback", phases=initial_phases(AT.isoformat(), stored.isoformat())
    )
    body = switch_public(switch)
    assert body.kind == "rollback" and body.deployment == "billing"
    assert [p.name for p in body.phases] == [
        "requested",
        "directive_written",
        "released",
        "claimed",
        "completed",
    ]
    assert body.phases[0].duration_ms == 3
    assert body.phases[1].started_at == stored and body.phases[1].duration_ms is None
    assert body.phases[2].started_at is None


def test_audit_entries_and_tokens_are_shown_without_secrets() -> None:
    entry = AuditEntry(id=5, at=AT, actor="ci", action="switch", deployment="billing", detail={})
    assert audit_public(entry).model_dump()["actor"] == "ci"
    token = ApiToken(name="ci", role="operator", token_hash="0" * 64, created_at=AT)
    shown = token_public(token)
    assert shown.role is ApiRole.OPERATOR
    assert "token_hash" not in shown.model_dump()


def _registered(status: InstanceStatus | None) -> RegisteredInstance:
    registration = InstanceRegistration(
        instance="green-1",
        colour=Colour.GREEN,
        version="1.5.0",
        host="h",
        pid=42,
        started_at=AT,
        session_id=1,
    )
    return RegisteredInstance(registration, status)


def test_an_instance_without_a_status_report_is_registered_and_not_ready() -> None:
    body = instance_public(_registered(None), owns=0, newest_processing=1)
    assert body.state == "registered" and body.partitions == 0 and body.epoch is None
    assert body.fenced is False and body.errors == 0 and body.rate_per_s is None
    assert body.ready is False and body.readiness_note == "no status report yet"
    assert body.processing_version is None and body.processing_current is None


def _status(**fields: object) -> InstanceStatus:
    return InstanceStatus.model_validate(
        {
            "instance": "green-1",
            "colour": "green",
            "version": "1.5.0",
            "epoch": 8,
            "state": "running",
            "owned": [{"group": "billing", "topic": "payments", "partition": 0, "epoch": 8}],
            "fenced": False,
            "counters": {"rate_per_s": 12.5, "errors": 2},
            "errors": [],
            "updated_at": AT.isoformat(),
            **fields,
        }
    )


def test_an_instance_reports_its_state_counters_settings_version_and_readiness() -> None:
    status = _status(processing_version=3, ready=True)
    body = instance_public(_registered(status), owns=2, newest_processing=3)
    assert (body.state, body.epoch) == ("running", 8)
    assert body.rate_per_s == 12.5 and body.errors == 2
    assert body.processing_version == 3 and body.processing_current is True
    assert body.ready is True and body.readiness_note is None


def test_an_instance_behind_the_newest_settings_or_refusing_them_is_shown_so() -> None:
    refused = _status(
        processing_version=2, processing_refused="ordering 'lifo' is unknown", ready=False
    )
    body = instance_public(_registered(refused), owns=0, newest_processing=3)
    assert body.processing_current is False
    assert body.processing_refused == "ordering 'lifo' is unknown"
    assert body.ready is False and body.readiness_note == "warming up (running)"


def test_an_agent_that_does_not_report_readiness_counts_as_ready_with_a_note() -> None:
    raw = _status().model_dump(mode="json")
    del raw["ready"]  # what an older agent writes
    body = instance_public(
        _registered(InstanceStatus.model_validate(raw)), owns=0, newest_processing=1
    )
    assert body.ready is True
    assert body.readiness_note is not None and "older agent" in body.readiness_note


def test_the_state_page_counts_an_instances_partitions_from_the_owner_nodes() -> None:
    """The instance table and the ownership map read the same nodes, so they agree even
    while an agent's status report still lists what it owned a moment ago."""
    owner = Ownership(instance="green-1", colour=Colour.GREEN, session_id=1, epoch=8)
    reading = LiveReading(
        instances=[_registered(_status(owned=[], ready=True))],
        partitions=[
            PartitionReading("live", ("payments", 0), owner, 1, 1, 0),
            PartitionReading("live", ("payments", 1), owner, 1, 1, 0),
            PartitionReading("live", ("payments", 2), None, 1, 1, 0),
        ],
    )
    body = state_public(deployment_row(), reading, LagStatus.OK)
    assert body.instances[0].partitions == 2
    assert body.processing_version == 1
    assert body.readiness[Colour.GREEN].ready is True
    assert body.readiness[Colour.BLUE].refusal == "no blue instance is registered"


def test_a_partition_shows_its_owner_offsets_and_lag() -> None:
    owner = Ownership(instance="blue-0", colour=Colour.BLUE, session_id=1, epoch=7)
    owned = PartitionReading("live", ("payments", 3), owner, 10, 15, 5)
    body = partition_public(owned)
    assert (body.topic, body.partition, body.lag) == ("payments", 3, 5)
    assert (body.owner_instance, body.owner_colour, body.owner_epoch) == ("blue-0", Colour.BLUE, 7)
    unowned = partition_public(PartitionReading("preview", ("m", 0), None, None, None, None))
    assert unowned.owner_instance is None and unowned.owner_colour is None


def test_the_state_page_sums_lag_of_the_live_binding_only() -> None:
    reading = LiveReading(
        kafka="unreachable: timed out",
        partitions=[
            PartitionReading("live", ("payments", 0), None, 1, 4, 3),
            PartitionReading("live", ("payments", 1), None, None, None, None),
            PartitionReading("preview", ("mirror", 0), None, 0, 100, 100),
        ],
    )
    body = state_public(deployment_row(), reading, LagStatus.STALL)
    assert body.lag_total == 3 and body.lag_status == "STALL"
    assert body.kafka == "unreachable: timed out" and body.zookeeper == "ok"
    assert body.active_colour is Colour.BLUE and len(body.partitions) == 3


def test_a_lag_point_keeps_each_partitions_lag() -> None:
    sample = LagSample(
        at=AT,
        total=7,
        partitions={"t/0": {"lag": 3, "committed": 1, "owned": True}, "t/1": {"lag": 4}},
    )
    assert lag_point(sample).model_dump() == {
        "at": AT,
        "total": 7,
        "partitions": {"t/0": 3, "t/1": 4},
    }
