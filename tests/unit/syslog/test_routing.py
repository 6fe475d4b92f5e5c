"""Topic and key templates over parsed fields."""

from __future__ import annotations

import pytest

from turnout.syslog.parsing import parse
from turnout.syslog.routing import Router, template_fields


def test_a_fixed_topic_needs_no_fields() -> None:
    router = Router("syslog", "")
    assert (router.fixed_topic, router.needs_fields, router.has_key) == ("syslog", False, False)


def test_templates_route_by_facility_name_app_and_host() -> None:
    router = Router("logs.{facility}.{app}", "{host}")
    fields = [parse(b"<165>1 - web01 nginx - - - hi"), parse(b"junk")]
    topics, keys = router.route(fields, "tcp")
    assert topics == ["logs.local4.nginx", "logs.unknown.unknown"]
    assert keys == [b"web01", b"unknown"]


def test_characters_kafka_refuses_in_topic_names_are_replaced() -> None:
    router = Router("logs-{app}", "")
    topics, _ = router.route([parse(b"<13>1 - h we/ird:app - - - x")], "udp")
    assert topics == ["logs-we_ird_app"]


def test_an_unknown_template_field_is_refused() -> None:
    with pytest.raises(ValueError, match="nope"):
        template_fields("syslog.{nope}")
