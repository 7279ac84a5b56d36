"""Serial framing: golden vectors, incremental feeding and resynchronisation after garbage."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.serial.framing import MAX_PAYLOAD, OVERHEAD, START, Frame, FrameReader, crc16
from edge.serial.payloads import FrameType, KeyKind, KeyPress, decode, to_frame

_PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE bit by bit, straight from its definition (independent of binascii)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def hand_built_frame(ftype: int, seq: int, payload: bytes) -> bytes:
    body = bytes([ftype]) + seq.to_bytes(2, "little") + len(payload).to_bytes(2, "little")
    body += payload
    return b"\xa5\x5a" + body + reference_crc16(body).to_bytes(2, "little")


def frame(seq: int, payload: bytes = b"\x01\x00\x00\x00\x00", ftype: int = 0x10) -> Frame:
    return Frame(ftype, seq, payload)


def feed_all(reader: FrameReader, chunks: list[bytes]) -> list[Frame]:
    return [f for chunk in chunks for f in reader.feed(chunk)]


def drain_idle(reader: FrameReader) -> list[Frame]:
    """What the driver does while the line stays idle: abandon partial frames until none."""
    frames: list[Frame] = []
    for _ in range(reader.pending_bytes + 1):
        if not reader.pending_bytes:
            break
        frames += reader.abandon_partial()
    assert reader.pending_bytes == 0
    return frames


# --- golden vectors ----------------------------------------------------------------------


def test_crc_check_value() -> None:
    assert reference_crc16(b"123456789") == 0x29B1
    assert crc16(b"123456789") == 0x29B1


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=600))
def test_crc_matches_the_bitwise_reference(data: bytes) -> None:
    assert crc16(data) == reference_crc16(data)


def test_key_press_golden_vector() -> None:
    golden = bytes.fromhex("a55a100100050001000000007a4d")
    # Independent computation: header, payload and CRC laid out by hand.
    assert hand_built_frame(0x10, 1, bytes([1]) + (0).to_bytes(4, "little")) == golden

    encoded = to_frame(KeyPress(KeyKind.EMERGENCY, 0), seq=1).encode()
    assert encoded == golden

    (decoded,) = FrameReader().feed(golden)
    assert decoded == Frame(FrameType.KEY_PRESS, 1, bytes.fromhex("0100000000"))
    assert decode(decoded) == KeyPress(KeyKind.EMERGENCY, 0)


@pytest.mark.parametrize(
    ("ftype", "seq", "payload"),
    [(0x00, 0, b""), (0xFF, 0xFFFF, b"\xa5\x5a" * 3), (0x11, 0x1234, bytes(range(256)) * 2)],
)
def test_encode_matches_the_hand_built_layout(ftype: int, seq: int, payload: bytes) -> None:
    encoded = Frame(ftype, seq, payload).encode()
    assert encoded == hand_built_frame(ftype, seq, payload)
    assert len(encoded) == len(payload) + OVERHEAD
    assert FrameReader().feed(encoded) == [Frame(ftype, seq, payload)]


@pytest.mark.parametrize(
    "bad",
    [Frame(256, 0, b""), Frame(-1, 0, b""), Frame(0, 0x10000, b""), Frame(0, 0, bytes(513))],
)
def test_encode_refuses_out_of_range_fields(bad: Frame) -> None:
    with pytest.raises(ValueError, match=r"out of range|exceeds"):
        bad.encode()


# --- incremental feeding -----------------------------------------------------------------

STREAM_FRAMES = [
    frame(1),
    frame(2, b""),
    frame(3, b"\xa5\x5a\xa5"),
    frame(0xFFFF, bytes(MAX_PAYLOAD)),
]
STREAM = b"".join(f.encode() for f in STREAM_FRAMES)


def test_frames_fed_byte_by_byte() -> None:
    reader = FrameReader()
    got = feed_all(reader, [bytes([b]) for b in STREAM])
    assert got == STREAM_FRAMES
    assert (reader.dropped_bytes, reader.pending_bytes, reader.frames_decoded) == (0, 0, 4)


def test_frame_split_at_every_position() -> None:
    two = frame(7).encode() + frame(8, b"xyz", 0x42).encode()
    for cut in range(len(two) + 1):
        reader = FrameReader()
        first = reader.feed(two[:cut])
        assert (
            reader.dropped_bytes
            + reader.pending_bytes
            + sum(len(f.payload) + OVERHEAD for f in first)
            == cut
        )
        assert first + reader.feed(two[cut:]) == [frame(7), frame(8, b"xyz", 0x42)], cut
        assert (reader.dropped_bytes, reader.pending_bytes) == (0, 0)


def test_garbage_before_and_between_frames_is_dropped_and_counted() -> None:
    garbage = [b"\x00\xff\x13", b"\xa5", b"hello\xa5\xa5", b"\x5a\x5a"]
    stream = b"".join(g + f.encode() for g, f in zip(garbage, STREAM_FRAMES, strict=True))
    reader = FrameReader()
    assert reader.feed(stream) == STREAM_FRAMES
    assert reader.dropped_bytes == sum(len(g) for g in garbage)


def test_trailing_half_start_marker_is_held_then_counted() -> None:
    reader = FrameReader()
    assert reader.feed(b"junk\xa5") == []
    assert (reader.dropped_bytes, reader.pending_bytes) == (4, 1)
    assert reader.feed(b"\x00") == []
    assert (reader.dropped_bytes, reader.pending_bytes) == (6, 0)


def test_a55a_inside_a_payload_does_not_split_the_frame() -> None:
    inner = frame(9).encode()
    outer = frame(10, inner, 0x33)
    assert FrameReader().feed(outer.encode()) == [outer]


@pytest.mark.parametrize("position", range(len(frame(5).encode())))
def test_one_corrupted_byte_drops_the_frame_and_the_next_still_decodes(position: int) -> None:
    damaged = bytearray(frame(5).encode())
    damaged[position] ^= 0xFF
    reader = FrameReader()
    got = reader.feed(bytes(damaged) + frame(6).encode())
    # A corrupted length may claim more bytes than have arrived: the line then goes idle.
    got += drain_idle(reader)
    assert got == [frame(6)]
    assert reader.dropped_bytes == len(damaged)


def test_false_start_with_huge_length_is_skipped_at_once() -> None:
    false_start = b"\x01\xa5\x5a\x10\x00\x00\xff\xff"  # claims 65535 bytes
    reader = FrameReader()
    assert reader.feed(false_start + STREAM) == STREAM_FRAMES
    assert reader.dropped_bytes == len(false_start)
    assert reader.oversize_errors == 1


def test_false_start_with_plausible_length_holds_frames_until_the_line_goes_idle() -> None:
    false_start = b"\xa5\x5a\x10\x02\x00\x00\x02"  # claims MAX_PAYLOAD bytes
    few = [frame(1), frame(2)]
    reader = FrameReader()
    assert reader.feed(false_start + b"".join(f.encode() for f in few)) == []
    assert reader.dropped_bytes == 0
    assert reader.abandon_partial() == few
    assert reader.dropped_bytes == len(false_start)
    assert reader.pending_bytes == 0


def test_false_start_with_plausible_length_fails_its_crc_once_enough_bytes_arrive() -> None:
    false_start = b"\xee\xa5\x5a\x10\x02\x00\x10\x00"  # claims 16 bytes
    reader = FrameReader()
    assert reader.feed(false_start + STREAM) == STREAM_FRAMES
    assert reader.dropped_bytes == len(false_start)
    assert reader.crc_errors >= 1


def test_frame_hidden_behind_a_false_start_is_found() -> None:
    hidden = frame(77)
    # A header whose length covers exactly the hidden frame, with a wrong CRC after it.
    wrapper = b"\xa5\x5a\x10\x00\x00" + len(hidden.encode()).to_bytes(2, "little")
    stream = wrapper + hidden.encode() + b"\x00\x00" + frame(78).encode()
    reader = FrameReader()
    assert reader.feed(stream) == [hidden, frame(78)]
    assert reader.dropped_bytes == len(wrapper) + 2


def test_abandon_partial_and_discard_pending_on_an_empty_buffer() -> None:
    reader = FrameReader()
    assert reader.abandon_partial() == []
    reader.discard_pending()
    assert reader.dropped_bytes == 0
    reader.feed(frame(1).encode()[:-1])
    reader.discard_pending()
    assert (reader.dropped_bytes, reader.pending_bytes) == (OVERHEAD + 5 - 1, 0)


# --- properties --------------------------------------------------------------------------

frames = st.builds(
    Frame,
    type=st.integers(0, 0xFF),
    seq=st.integers(0, 0xFFFF),
    payload=st.binary(max_size=40) | st.binary(min_size=MAX_PAYLOAD - 2, max_size=MAX_PAYLOAD),
)
clean_garbage = st.binary(max_size=24).filter(lambda g: START not in g)


def chunked(data: bytes, draw: st.DataObject) -> list[bytes]:
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), max_size=12), label="cuts"))
    edges = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@_PROPERTY
@given(
    pieces=st.lists(st.tuples(clean_garbage, frames), max_size=8),
    tail=clean_garbage,
    data=st.data(),
)
def test_frames_among_garbage_come_out_exactly_in_order(
    pieces: list[tuple[bytes, Frame]], tail: bytes, data: st.DataObject
) -> None:
    stream = b"".join(g + f.encode() for g, f in pieces) + tail
    garbage = sum(len(g) for g, _ in pieces) + len(tail)
    reader = FrameReader()

    got = feed_all(reader, chunked(stream, data))

    assert got == [f for _, f in pieces]
    # Only a trailing 0xA5 may still wait as a possible start marker.
    assert reader.pending_bytes <= 1
    assert reader.dropped_bytes + reader.pending_bytes == garbage
    assert reader.abandon_partial() == []
    assert reader.dropped_bytes == garbage


def _frame_bytes(got: list[Frame]) -> int:
    return sum(len(f.payload) + OVERHEAD for f in got)


def corrupted(f: Frame, index: int) -> bytes:
    """``f`` encoded with one byte flipped."""
    encoded = bytearray(f.encode())
    encoded[index % len(encoded)] ^= 0x5A
    return bytes(encoded)


noisy_streams = st.lists(
    st.binary(max_size=30)
    | frames.map(Frame.encode)
    | frames.map(lambda f: f.encode()[:-1])  # truncated frame
    | st.builds(corrupted, frames, st.integers(0, MAX_PAYLOAD + OVERHEAD))
    | st.just(b"\xa5\x5a")
    | st.binary(min_size=5, max_size=5).map(lambda b: START + b),  # false start, any length
    max_size=12,
).map(b"".join)


@_PROPERTY
@given(stream=st.binary(max_size=200) | noisy_streams, data=st.data())
def test_every_byte_is_accounted_for_and_chunking_does_not_matter(
    stream: bytes, data: st.DataObject
) -> None:
    whole = FrameReader()
    expected = whole.feed(stream)
    assert _frame_bytes(expected) + whole.dropped_bytes + whole.pending_bytes == len(stream)

    reader = FrameReader()
    fed = 0
    got: list[Frame] = []
    for chunk in chunked(stream, data):
        got += reader.feed(chunk)
        fed += len(chunk)
        assert _frame_bytes(got) + reader.dropped_bytes + reader.pending_bytes == fed
    assert got == expected
    assert (reader.dropped_bytes, reader.pending_bytes) == (
        whole.dropped_bytes,
        whole.pending_bytes,
    )


@_PROPERTY
@given(stream=noisy_streams, data=st.data())
def test_idle_abandons_keep_every_byte_accounted_for(stream: bytes, data: st.DataObject) -> None:
    reader = FrameReader()
    got: list[Frame] = []
    fed = 0
    for chunk in chunked(stream, data):
        got += reader.feed(chunk)
        fed += len(chunk)
        if data.draw(st.booleans(), label="idle"):
            got += reader.abandon_partial()
        assert _frame_bytes(got) + reader.dropped_bytes + reader.pending_bytes == fed
    got += drain_idle(reader)
    assert _frame_bytes(got) + reader.dropped_bytes == len(stream)
    assert reader.frames_decoded == len(got)


# No false frame can reach across this many bytes without a start marker: a frame is at most
# MAX_PAYLOAD + OVERHEAD bytes long, so one that starts before the gap ends inside it.
sync_free_gaps = st.binary(
    min_size=MAX_PAYLOAD + OVERHEAD, max_size=MAX_PAYLOAD + OVERHEAD + 16
).map(lambda gap: gap.replace(START[:1], b"\x00"))


@_PROPERTY
@given(
    pieces=st.lists(
        st.tuples(st.binary(max_size=60) | noisy_streams, sync_free_gaps, frames),
        min_size=1,
        max_size=4,
    ),
    data=st.data(),
)
def test_any_garbage_never_raises_and_frames_behind_a_sync_free_gap_are_recovered(
    pieces: list[tuple[bytes, bytes, Frame]], data: st.DataObject
) -> None:
    """Whatever came before (false markers, lying lengths, frames cut short), a valid frame
    after a gap without a start marker comes out, in order. Without the gap a false frame
    with a matching CRC (1 in 65,536) may swallow it; ``make fuzz`` checks that case."""
    reader = FrameReader()
    got: list[Frame] = []
    for garbage, gap, planted in pieces:
        for chunk in chunked(garbage + gap + planted.encode(), data):
            got += reader.feed(chunk)
        if data.draw(st.booleans(), label="idle"):
            got += reader.abandon_partial()
    got += drain_idle(reader)

    remaining = iter(got)
    assert all(any(f == planted for f in remaining) for _, _, planted in pieces)
    assert _frame_bytes(got) + reader.dropped_bytes == sum(
        len(g) + len(gap) + len(p.encode()) for g, gap, p in pieces
    )
