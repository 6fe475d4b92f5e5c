import pytest
from pydantic import ValidationError

from turnout.protocol.mirror import NamingMode, TopicNameError, TopicNaming


def test_prefix_naming_defaults_to_the_source_alias_and_a_dot() -> None:
    assert TopicNaming(source_alias="a").target_topic("orders") == "a.orders"
    assert TopicNaming(prefix="dr-").target_topic("orders") == "dr-orders"


def test_identity_naming_keeps_the_source_name() -> None:
    assert TopicNaming(mode=NamingMode.IDENTITY).target_topic("orders") == "orders"


def test_template_naming_fills_alias_and_topic() -> None:
    naming = TopicNaming(
        mode=NamingMode.TEMPLATE, source_alias="eu", template="mirror.{alias}.{topic}.v1"
    )
    assert naming.target_topic("orders") == "mirror.eu.orders.v1"


def test_a_template_without_the_topic_is_refused() -> None:
    with pytest.raises(ValidationError, match="holding \\{topic\\}"):
        TopicNaming(mode=NamingMode.TEMPLATE, template="all-in-one")


def test_a_name_kafka_would_refuse_is_an_error_naming_the_source_topic() -> None:
    with pytest.raises(TopicNameError, match="'orders'"):
        TopicNaming(prefix="bad prefix/").target_topic("orders")
    with pytest.raises(TopicNameError):
        TopicNaming(prefix="x" * 240).target_topic("orders-of-today")
