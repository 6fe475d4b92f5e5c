"""The processor contract: what a processor emits, in which order, and what it may not."""

from __future__ import annotations

import pytest

from turnout.agent import INPUT_KEY, Output, Outputs, processor
from turnout.agent.processors import EmitError, is_processor


def test_sent_outputs_come_first_then_returned_ones_in_their_order() -> None:
    out = Outputs()
    out.send("audit", b"1")
    out.send("audit", b"2", key=b"k")
    emitted = out.emitted([Output("enriched", b"3"), Output("enriched", b"4", key=None)])
    assert [(o.output, o.value, o.key) for o in emitted] == [
        ("audit", b"1", INPUT_KEY),
        ("audit", b"2", b"k"),
        ("enriched", b"3", INPUT_KEY),
        ("enriched", b"4", None),
    ]


@pytest.mark.parametrize("returned", [None, [], ()])
def test_returning_nothing_emits_only_what_was_sent(returned: object) -> None:
    out = Outputs()
    assert out.emitted(returned) == []
    out.send("o", "v")
    assert out.emitted(returned) == [Output("o", "v")]


def test_a_single_output_and_a_generator_are_accepted() -> None:
    assert Outputs().emitted(Output("o", b"v")) == [Output("o", b"v")]
    assert Outputs().emitted(Output("o", bytes([i])) for i in range(2)) == [
        Output("o", b"\x00"),
        Output("o", b"\x01"),
    ]


@pytest.mark.parametrize("returned", [b"raw bytes", "text", 42, [Output("o", b"v"), "stray"]])
def test_anything_but_outputs_is_refused_naming_its_type(returned: object) -> None:
    with pytest.raises(EmitError, match="returns an Output"):
        Outputs().emitted(returned)


def test_the_processor_mark_is_read_from_the_function() -> None:
    @processor
    def marked(record: object, out: Outputs) -> None:
        del record, out

    def plain(record: object) -> None:
        del record

    assert is_processor(marked) and not is_processor(plain)
