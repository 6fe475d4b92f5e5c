"""RFC 6587 framing: octet counting and LF, detected per connection, bounded, lossless."""

from __future__ import annotations

from turnout.syslog.framing import Framer


def octet(*messages: bytes) -> bytes:
    return b"".join(b"%d %s" % (len(m), m) for m in messages)


def feed_all(framer: Framer, *chunks: bytes) -> list[bytes]:
    frames: list[bytes] = []
    for chunk in chunks:
        frames += framer.feed(chunk)
    return frames + framer.close()


def accounted(framer: Framer) -> int:
    c = framer.counters
    return c.payload_bytes + c.framing_bytes + c.dropped_bytes + framer.pending_bytes


MESSAGES = [b"<34>1 - host app - - - first", b"second with spaces  ", b"<13>third\nwith LF"]


def test_octet_counted_messages_come_out_whole_even_with_spaces_and_lf_inside() -> None:
    framer = Framer()
    assert framer.feed(octet(*MESSAGES)) == MESSAGES
    assert framer.mode == "octet-counting"


def test_lf_framed_lines_split_at_lf_and_crlf_and_skip_empty_lines() -> None:
    framer = Framer()
    assert framer.feed(b"<13>one\r\n<13>two\n\n<13>three\n") == [
        b"<13>one",
        b"<13>two",
        b"<13>three",
    ]
    assert framer.mode == "non-transparent"


def test_a_frame_split_at_every_possible_point_is_reassembled() -> None:
    stream = octet(*MESSAGES)
    for cut in range(1, len(stream)):
        framer = Framer()
        assert feed_all(framer, stream[:cut], stream[cut:]) == MESSAGES, cut
        assert accounted(framer) == len(stream)
    lf_stream = b"<13>one\n<13>two\n"
    for cut in range(1, len(lf_stream)):
        assert feed_all(Framer(), lf_stream[:cut], lf_stream[cut:]) == [b"<13>one", b"<13>two"]


def test_one_byte_at_a_time_gives_the_same_messages() -> None:
    stream = octet(*MESSAGES)
    framer = Framer()
    assert feed_all(framer, *(stream[i : i + 1] for i in range(len(stream)))) == MESSAGES


def test_a_count_larger_than_the_read_waits_for_the_rest() -> None:
    message = b"x" * 5000
    stream = octet(message)
    framer = Framer()
    assert framer.feed(stream[:100]) == []
    assert framer.pending_bytes == 100
    assert framer.feed(stream[100:]) == [message]


def test_an_oversized_octet_counted_message_is_cut_counted_and_the_stream_goes_on() -> None:
    framer = Framer(max_message=100)
    stream = octet(b"a" * 250, b"after")
    frames = feed_all(framer, stream[:120], stream[120:200], stream[200:])
    assert frames == [b"a" * 100, b"after"]
    assert framer.counters.truncated == 1
    assert framer.counters.dropped_bytes == 150
    assert accounted(framer) == len(stream)


def test_an_oversized_lf_line_is_cut_and_the_rest_of_it_skipped() -> None:
    framer = Framer(max_message=10)
    stream = b"0123456789ABCDEF\nshort\n"
    assert feed_all(framer, stream[:13], stream[13:]) == [b"0123456789", b"short"]
    assert framer.counters.truncated == 1
    assert accounted(framer) == len(stream)


def test_a_length_that_is_not_a_number_falls_back_to_lf_without_losing_bytes() -> None:
    framer = Framer()
    stream = octet(b"<13>ok") + b"12x garbage\n<13>next\n"
    assert feed_all(framer, stream) == [b"<13>ok", b"12x garbage", b"<13>next"]
    assert framer.counters.framing_errors == 1
    assert accounted(framer) == len(stream)


def test_the_end_of_stream_delivers_an_unterminated_line_and_a_short_frame() -> None:
    assert feed_all(Framer(), b"<13>no newline at the end") == [b"<13>no newline at the end"]
    framer = Framer()
    assert feed_all(framer, b"20 <13>only ten") == [b"<13>only ten"]
    assert framer.counters.truncated == 1


def test_each_connection_detects_its_own_framing() -> None:
    octet_client, lf_client = Framer(), Framer()
    assert octet_client.feed(octet(b"<13>a", b"<13>b")) == [b"<13>a", b"<13>b"]
    assert lf_client.feed(b"<13>c\n<13>d\n") == [b"<13>c", b"<13>d"]
    assert (octet_client.mode, lf_client.mode) == ("octet-counting", "non-transparent")
