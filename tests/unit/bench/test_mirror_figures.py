"""The mirror benchmark's pure parts: record identity, the rates, MirrorMaker 2's file."""

from __future__ import annotations

from bench.mirror_data import ID_DIGITS, RECORD_BYTES, value_of
from bench.mirror_mm2 import PRODUCER, mm2_settings, mm2_target_topic
from bench.mirror_watch import MirrorRun


def test_a_record_is_500_bytes_and_starts_with_its_identity() -> None:
    value = value_of(123_456)
    assert len(value) == RECORD_BYTES
    assert int(value[:ID_DIGITS]) == 123_456


def test_the_rate_excludes_start_up_and_the_total_includes_it() -> None:
    run = MirrorRun(records=1000, launch_ns=0, first_ns=2_000_000_000, last_ns=4_000_000_000)
    assert run.startup_s == 2.0
    assert run.msgs_per_s == 500.0
    assert run.total_msgs_per_s == 250.0
    assert run.as_json("mm2") == {
        "mm2_msgs_per_s": 500,
        "mm2_total_msgs_per_s": 250,
        "mm2_startup_s": 2.0,
    }


def test_mirrormaker_mirrors_one_flow_with_turnouts_instances_as_tasks() -> None:
    settings = mm2_settings("a:1", "b:2", "orders", tasks=3)
    assert settings["src->dst.topics"] == "orders"
    assert settings["src->dst.enabled"] == "true"
    assert settings["dst->src.enabled"] == "false"
    assert settings["tasks.max"] == "3"
    assert {k: settings[f"dst.producer.{k}"] for k in PRODUCER} == PRODUCER


def test_mirrormaker_exactly_once_enables_kip_618_with_its_rest_server_and_own_aliases() -> None:
    settings = mm2_settings("a:1", "b:2", "orders", tasks=2, rest_port=18083)
    assert settings["srceos->dsteos.topics"] == "orders"
    assert settings["dsteos.exactly.once.source.support"] == "enabled"
    assert settings["dedicated.mode.enable.internal.rest"] == "true"
    assert settings["listeners"] == "http://127.0.0.1:18083"
    assert settings["srceos.consumer.isolation.level"] == "read_committed"
    assert mm2_target_topic("orders", exactly_once=True) == "srceos.orders"
