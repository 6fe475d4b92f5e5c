"""The JSON shapes written to ZooKeeper: what goes on the wire, what a reader accepts.

The wire format is a contract between processes of different versions during a rolling
upgrade: every model round-trips through bytes, keeps its field names, and ignores
fields it does not know (the version-skew rule: a newer writer never breaks an older
reader).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from turnout.protocol import (
    AbsentPinPolicy,
    Binding,
    Colour,
    CommitMetadata,
    Directive,
    InstanceRegistration,
    InstanceStatus,
    OwnedPartition,
    Ownership,
    PartitionRef,
    PublishedAssignment,
    Role,
    Strategy,
    ZkOffset,
)
from turnout.protocol.crossing import Crossing, MirrorSide
from turnout.protocol.models import MAX_COMMIT_METADATA_BYTES

WRITTEN_AT = datetime(2026, 11, 24, 23, 0, 0, 120_000, tzinfo=UTC)
SOURCE_SIDE = Crossing(mirror="orders-mirror", side=MirrorSide.SOURCE)
COPIES_SIDE = Crossing(mirror="orders-mirror", side=MirrorSide.COPIES, cluster="b")
COPIES_SIDE_OF_ANOTHER = Crossing(mirror="other-mirror", side=MirrorSide.COPIES)


LIVE = Binding(group="billing", topics=("invoices",))
PREVIEW = Binding(group="billing-preview", topics=("invoices",))


def directive(**changes: Any) -> Directive:
    fields: dict[str, Any] = {
        "epoch": 7,
        "deployment": "billing",
        "live": LIVE,
        "roles": {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
        "written_at": WRITTEN_AT,
    }
    return Directive.model_validate({**fields, **changes})


Wire = (
    PartitionRef
    | Binding
    | Directive
    | InstanceRegistration
    | Ownership
    | OwnedPartition
    | InstanceStatus
    | CommitMetadata
    | PublishedAssignment
    | ZkOffset
)


def commit_metadata(epoch: int, instance: str, done: tuple[int, ...]) -> CommitMetadata:
    # By field name, as the agent builds it (the constructor's typed names are the aliases).
    return CommitMetadata.model_validate({"epoch": epoch, "instance": instance, "done": done})


#: One instance of every wire model, with every field away from its default.
EXAMPLES: dict[str, Wire] = {
    "PartitionRef": PartitionRef(topic="invoices", partition=3),
    "Binding": Binding(group="billing", topics=("refunds", "invoices")),
    "Directive": directive(
        preview=PREVIEW,
        roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.PREVIEW},
        strategy=Strategy.MANUAL,
        pins={"invoices/3": "billing-2"},
        absent_pin_policy=AbsentPinPolicy.FALLBACK,
        paused=True,
        drain_timeout_ms=2_500,
        crossings={
            Colour.BLUE: Crossing(mirror="orders-mirror", side=MirrorSide.SOURCE, cluster="a"),
            Colour.GREEN: Crossing(mirror="orders-mirror", side=MirrorSide.COPIES, cluster="b"),
        },
        operation_id="sw-42",
    ),
    "InstanceRegistration": InstanceRegistration(
        instance="billing-1",
        colour=Colour.GREEN,
        version="1.4.2",
        host="node-3",
        pid=4242,
        started_at=WRITTEN_AT,
        session_id=72057631208407042,
    ),
    "Ownership": Ownership(
        instance="billing-1",
        colour=Colour.BLUE,
        session_id=72057631208407042,
        epoch=7,
        claimed_at=WRITTEN_AT,
    ),
    "OwnedPartition": OwnedPartition(
        group="billing", topic="invoices", partition=0, committed_offset=1200, processed=12
    ),
    "InstanceStatus": InstanceStatus(
        instance="billing-1",
        colour=Colour.BLUE,
        version="1.4.2",
        epoch=7,
        state="RUNNING",
        owned=(OwnedPartition(group="billing", topic="invoices", partition=0),),
        fenced=True,
        counters={"records_processed": 1200.0},
        errors=("23:00:01 commit of invoices/0 failed: timeout",),
        updated_at=WRITTEN_AT,
    ),
    "CommitMetadata": commit_metadata(7, "billing-1", (1203, 1205)),
    "PublishedAssignment": PublishedAssignment(
        epoch=7,
        colour=Colour.BLUE,
        strategy=Strategy.STICKY,
        inputs="3f9a" * 8,
        members=("billing-1", "billing-2"),
        members_version=12,
        partitions={"invoices": 2},
        owners={"invoices/0": "billing-1"},
        unowned=("invoices/1",),
        absent_pins={"invoices/1": "billing-9"},
        written_by="billing-2",
        written_at=WRITTEN_AT,
    ),
    "ZkOffset": ZkOffset(
        offset=1200,
        metadata='{"e":7,"i":"billing-1","d":[1203]}',
        claimed_by="billing-1",
        epoch=7,
        updated_at=WRITTEN_AT,
    ),
}

#: The field names each model writes: renaming one breaks every reader of the old name.
WIRE_KEYS: dict[str, set[str]] = {
    "PartitionRef": {"topic", "partition"},
    "Binding": {"group", "topics", "topic_pattern"},
    "Directive": {
        "epoch",
        "deployment",
        "live",
        "preview",
        "roles",
        "strategy",
        "pins",
        "absent_pin_policy",
        "paused",
        "drain_timeout_ms",
        "processing",
        "mirror",
        "crossings",
        "operation_id",
        "written_at",
    },
    "InstanceRegistration": {
        "instance",
        "colour",
        "version",
        "host",
        "pid",
        "started_at",
        "session_id",
    },
    "Ownership": {"instance", "colour", "session_id", "epoch", "claimed_at"},
    "OwnedPartition": {"group", "topic", "partition", "committed_offset", "processed"},
    "InstanceStatus": {
        "instance",
        "colour",
        "version",
        "epoch",
        "state",
        "owned",
        "fenced",
        "counters",
        "errors",
        "processing_version",
        "processing_refused",
        "ready",
        "updated_at",
    },
    "CommitMetadata": {"epoch", "instance", "done"},
    "PublishedAssignment": {
        "epoch",
        "colour",
        "strategy",
        "inputs",
        "members",
        "members_version",
        "partitions",
        "owners",
        "unowned",
        "absent_pins",
        "written_by",
        "written_at",
    },
    "ZkOffset": {"offset", "metadata", "claimed_by", "epoch", "updated_at"},
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_model_reads_back_what_it_wrote(name: str) -> None:
    model = EXAMPLES[name]
    assert type(model).from_bytes(model.to_bytes()) == model


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_model_writes_exactly_its_documented_field_names(name: str) -> None:
    assert set(json.loads(EXAMPLES[name].to_bytes())) == WIRE_KEYS[name]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_reader_ignores_fields_a_newer_writer_added(name: str) -> None:
    model = EXAMPLES[name]
    newer = {**json.loads(model.to_bytes()), "added_by_a_newer_version": {"any": [1, 2]}}
    assert type(model).from_bytes(json.dumps(newer).encode()) == model


def test_fields_a_newer_writer_added_inside_nested_shapes_are_ignored_too() -> None:
    newer = json.loads(EXAMPLES["Directive"].to_bytes())
    newer["live"]["priority"] = "high"
    newer["preview"]["partitions_hint"] = 12
    assert Directive.from_bytes(json.dumps(newer).encode()) == EXAMPLES["Directive"]
    status = json.loads(EXAMPLES["InstanceStatus"].to_bytes())
    status["owned"][0]["lag"] = 5
    assert InstanceStatus.from_bytes(json.dumps(status).encode()) == EXAMPLES["InstanceStatus"]


def test_a_reader_fills_in_the_defaults_of_fields_an_older_writer_did_not_write() -> None:
    older = {
        "epoch": 3,
        "deployment": "billing",
        "live": {"group": "billing", "topics": ["invoices"]},
        "roles": {"blue": "standby", "green": "live"},
    }
    read = Directive.from_bytes(json.dumps(older).encode())
    assert read.preview is None and read.pins == {} and read.operation_id is None
    assert read.strategy is Strategy.RANGE
    assert read.absent_pin_policy is AbsentPinPolicy.LEAVE_UNOWNED
    assert read.paused is False and read.drain_timeout_ms == 10_000
    assert read.written_at.tzinfo is not None


def test_the_directive_documented_in_the_protocol_reads_as_written() -> None:
    documented = b"""{"epoch": 7, "deployment": "billing",
     "live": {"group": "billing", "topics": ["invoices"]},
     "preview": null,
     "roles": {"blue": "live", "green": "standby"},
     "strategy": "sticky",
     "pins": {"invoices/3": "billing-2"},
     "absent_pin_policy": "leave_unowned",
     "paused": false,
     "drain_timeout_ms": 10000,
     "operation_id": "sw-42",
     "written_at": "2026-11-24T23:00:00Z"}"""
    read = Directive.from_bytes(documented)
    assert read.epoch == 7 and read.live == LIVE and read.live_colour is Colour.BLUE
    assert read.strategy is Strategy.STICKY and read.pins == {"invoices/3": "billing-2"}
    assert read.written_at == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)


def test_enumerations_are_written_as_their_documented_lower_case_words() -> None:
    assert [str(c) for c in Colour] == ["blue", "green"]
    assert [str(r) for r in Role] == ["live", "preview", "standby"]
    assert [str(s) for s in Strategy] == ["range", "round_robin", "sticky", "manual"]
    assert [str(p) for p in AbsentPinPolicy] == ["leave_unowned", "fallback"]
    written = json.loads(EXAMPLES["Directive"].to_bytes())
    assert written["roles"] == {"blue": "live", "green": "preview"}
    assert written["strategy"] == "manual" and written["absent_pin_policy"] == "fallback"


def test_models_are_immutable() -> None:
    written = directive()
    with pytest.raises(ValidationError, match="frozen"):
        written.epoch = 8


# ---- PartitionRef and Binding ------------------------------------------------------------


def test_a_partition_ref_has_the_key_form_and_parses_it_back() -> None:
    ref = PartitionRef(topic="eu/invoices", partition=3)
    assert ref.key == "eu/invoices/3"
    assert PartitionRef.parse(ref.key) == ref


def test_a_partition_number_is_never_negative() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        PartitionRef(topic="invoices", partition=-1)
    with pytest.raises(ValueError, match="must look like"):
        PartitionRef.parse("invoices/-1")


def test_a_binding_of_a_pattern_alone_lists_no_topic_until_its_pattern_takes_one() -> None:
    alone = Binding(group="g", topic_pattern=r"orders\..*")
    assert alone.topics == ()
    assert alone.resolved(["payments", "orders.eu"]).topics == ("orders.eu",)
    assert alone.resolved(["payments"]) == alone


def test_a_binding_keeps_its_topics_sorted_so_equal_bindings_compare_equal() -> None:
    assert Binding(group="g", topics=("b", "a")).topics == ("a", "b")
    assert Binding(group="g", topics=("b", "a")) == Binding(group="g", topics=("a", "b"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"group": "bad/group", "topics": ("t",)}, "group 'bad/group'"),
        ({"group": "", "topics": ("t",)}, "group ''"),
        ({"group": "g", "topics": ("t", "bad topic")}, "topic 'bad topic'"),
        ({"group": "g", "topics": ("t", "t")}, "topics must not repeat"),
        ({"group": "g", "topics": ()}, "at least one topic or has a topic pattern"),
    ],
)
def test_a_binding_refuses_names_that_are_not_one_path_segment_and_empty_or_repeated_topics(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Binding.model_validate(fields)


# ---- Directive --------------------------------------------------------------------------


def test_the_live_colour_is_the_one_whose_role_is_live() -> None:
    assert directive().live_colour is Colour.BLUE
    swapped = directive(roles={Colour.BLUE: Role.STANDBY, Colour.GREEN: Role.LIVE})
    assert swapped.live_colour is Colour.GREEN


def test_each_colour_consumes_the_binding_its_role_gives_it() -> None:
    with_preview = directive(
        preview=PREVIEW, roles={Colour.BLUE: Role.PREVIEW, Colour.GREEN: Role.LIVE}
    )
    assert with_preview.binding_for(Colour.GREEN) == LIVE
    assert with_preview.binding_for(Colour.BLUE) == PREVIEW
    assert directive().binding_for(Colour.GREEN) is None  # standby


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epoch": 0}, "greater than or equal to 1"),
        ({"deployment": "a/b"}, "deployment 'a/b'"),
        ({"roles": {Colour.BLUE: Role.LIVE}}, "roles must name both colours"),
        ({"roles": {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.LIVE}}, "exactly one colour"),
        (
            {"roles": {Colour.BLUE: Role.STANDBY, Colour.GREEN: Role.STANDBY}},
            "exactly one colour",
        ),
        (
            {"roles": {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.PREVIEW}},
            "no preview binding",
        ),
        ({"roles": {"blue": "live", "red": "standby"}}, "Input should be 'blue' or 'green'"),
        ({"pins": {"invoices": "billing-1"}}, "must look like '<topic>/<partition number>'"),
        ({"pins": {"invoices/1": "bad instance"}}, "instance 'bad instance'"),
        ({"drain_timeout_ms": -1}, "greater than or equal to 0"),
        ({"drain_timeout_ms": 600_001}, "less than or equal to 600000"),
        ({"strategy": "random"}, "Input should be 'range'"),
        ({"crossings": {Colour.BLUE: SOURCE_SIDE}}, "name both colours"),
        ({"crossings": {Colour.BLUE: SOURCE_SIDE, Colour.GREEN: SOURCE_SIDE}}, "each side"),
        (
            {"crossings": {Colour.BLUE: SOURCE_SIDE, Colour.GREEN: COPIES_SIDE_OF_ANOTHER}},
            "the same mirror",
        ),
        ({"crossings": {Colour.BLUE: {"mirror": "a/b", "side": "source"}}}, "deployment 'a/b'"),
    ],
)
def test_an_inconsistent_directive_is_refused_with_the_reason(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        directive(**changes)


def test_an_agent_owns_nothing_unless_it_runs_on_the_side_the_directive_gives_its_colour() -> None:
    migrating = directive(crossings={Colour.BLUE: SOURCE_SIDE, Colour.GREEN: COPIES_SIDE})
    # The cluster's name is for people: agents compare the mirror and the side.
    assert (
        migrating.crossing_refusal(Colour.GREEN, COPIES_SIDE.model_copy(update={"cluster": None}))
        is None
    )
    assert migrating.crossing_refusal(Colour.BLUE, SOURCE_SIDE) is None
    refused = migrating.crossing_refusal(Colour.GREEN, None)
    assert refused is not None
    assert "green consume its copies on b (mirror 'orders-mirror')" in refused
    assert "started without a mirror" in refused
    assert migrating.crossing_refusal(Colour.GREEN, SOURCE_SIDE) is not None
    assert migrating.crossing_refusal(Colour.GREEN, COPIES_SIDE_OF_ANOTHER) is not None
    # A directive that says nothing of sides leaves every agent as it was started.
    assert directive().crossing_refusal(Colour.GREEN, COPIES_SIDE) is None
    assert directive().crossing_refusal(Colour.GREEN, None) is None


def test_a_directive_read_from_zookeeper_is_validated_like_one_built_in_code() -> None:
    written = json.loads(directive().to_bytes())
    written["roles"] = {"blue": "live", "green": "live"}
    with pytest.raises(ValidationError, match="exactly one colour must be live"):
        Directive.from_bytes(json.dumps(written).encode())


def test_instance_names_in_registrations_must_be_one_path_segment() -> None:
    fields = json.loads(EXAMPLES["InstanceRegistration"].to_bytes())
    with pytest.raises(ValidationError, match="instance 'a/b'"):
        InstanceRegistration.model_validate({**fields, "instance": "a/b"})


# ---- CommitMetadata ---------------------------------------------------------------------


def test_commit_metadata_is_encoded_as_compact_json_with_one_letter_keys() -> None:
    metadata = commit_metadata(7, "billing-1", (1203, 1205))
    assert metadata.encode() == '{"e":7,"i":"billing-1","d":[1203,1205]}'
    assert CommitMetadata.decode(metadata.encode()) == metadata


def test_commit_metadata_reads_the_short_keys_and_the_field_names() -> None:
    by_alias = CommitMetadata.model_validate({"e": 2, "i": "a"})
    by_name = CommitMetadata.model_validate({"epoch": 2, "instance": "a"})
    assert by_alias == by_name and by_alias.done == ()


@pytest.mark.parametrize(
    "text", [None, "", "not json", "[]", '{"e": 1}', '{"i": "a"}', "written by another tool"]
)
def test_commit_metadata_that_turnout_did_not_write_decodes_as_none(text: str | None) -> None:
    assert CommitMetadata.decode(text) is None


def test_commit_metadata_from_a_newer_writer_decodes_without_its_new_keys() -> None:
    decoded = CommitMetadata.decode('{"e":7,"i":"a","d":[3],"x":"new"}')
    assert decoded == commit_metadata(7, "a", (3,))


def test_commit_metadata_over_the_brokers_limit_is_refused_before_it_is_sent() -> None:
    fits = commit_metadata(1, "a", tuple(range(100)))
    assert len(fits.encode().encode()) <= MAX_COMMIT_METADATA_BYTES
    too_many = commit_metadata(1, "a", tuple(range(10**6, 10**6 + 600)))
    with pytest.raises(ValueError, match="exceeds the broker's limit"):
        too_many.encode()
