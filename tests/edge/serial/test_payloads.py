"""Typed payloads of serial protocol v1: round trips and every way a payload is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.errors import EdgeError, FrameError
from edge.serial.framing import MAX_PAYLOAD, Frame, FrameReader
from edge.serial.payloads import (
    Ack,
    AckStage,
    FrameType,
    Heartbeat,
    Indicate,
    KeyKind,
    KeyPress,
    Payload,
    SampleBatch,
    SensorKind,
    decode,
    to_frame,
)

MAX_SAMPLES = SampleBatch.MAX_SAMPLES
FULL_BATCH = SampleBatch(
    SensorKind.ACCELEROMETER,
    0xFFFFFFFF,
    (0, *range(1, MAX_SAMPLES)),
    tuple((i * 500 - 16000, -32768, 32767) for i in range(MAX_SAMPLES)),
)


@pytest.mark.parametrize(
    ("payload", "ftype", "size"),
    [
        (KeyPress(KeyKind.EMERGENCY, 0), FrameType.KEY_PRESS, 5),
        (KeyPress(KeyKind.FAMILY, 0xFFFFFFFF), FrameType.KEY_PRESS, 5),
        (
            Heartbeat(100, mains_powered=True, battery_low=False, uptime_s=3600),
            FrameType.HEARTBEAT,
            6,
        ),
        (Heartbeat(5, mains_powered=False, battery_low=True, uptime_s=0), FrameType.HEARTBEAT, 6),
        (Heartbeat(0, mains_powered=True, battery_low=True, uptime_s=1), FrameType.HEARTBEAT, 6),
        (SampleBatch(SensorKind.ACCELEROMETER, 12, (), ()), FrameType.SAMPLES, 7),
        (
            SampleBatch(SensorKind.ACCELEROMETER, 1, (0, 100), ((1, -2, 1000), (0, 0, -1000))),
            FrameType.SAMPLES,
            23,
        ),
        (FULL_BATCH, FrameType.SAMPLES, 7 + 8 * MAX_SAMPLES),
        (Ack(0xFFFF, AckStage.HELP_COMING), FrameType.ACK, 3),
        (Ack(1, AckStage.RECEIVED), FrameType.ACK, 3),
        (Indicate(led=2, buzzer=1, duration_s=30), FrameType.INDICATE, 4),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, int) else str(v),
)
def test_payload_round_trips_through_a_frame(payload: Payload, ftype: FrameType, size: int) -> None:
    frame = to_frame(payload, seq=42)
    assert (frame.type, frame.seq, len(frame.payload)) == (ftype, 42, size)

    (received,) = FrameReader().feed(frame.encode())

    assert decode(received) == payload


def test_key_press_layout_is_key_then_little_endian_age() -> None:
    assert KeyPress(KeyKind.SERVICE, 0x01020304).to_bytes() == b"\x02\x04\x03\x02\x01"


def test_heartbeat_flags_bits() -> None:
    def flags(mains: bool, low: bool) -> int:
        return Heartbeat(50, mains, low, 0).to_bytes()[1]

    assert [flags(False, False), flags(True, False), flags(False, True), flags(True, True)] == [
        0,
        1,
        2,
        3,
    ]


def test_full_sample_batch_fits_one_frame_and_one_more_does_not() -> None:
    assert len(FULL_BATCH.to_bytes()) <= MAX_PAYLOAD
    to_frame(FULL_BATCH, 0).encode()
    too_many = SampleBatch(
        SensorKind.ACCELEROMETER, 0, (0,) * (MAX_SAMPLES + 1), ((0, 0, 0),) * (MAX_SAMPLES + 1)
    )
    with pytest.raises(ValueError, match="exceeds"):
        to_frame(too_many, 0).encode()


def test_sample_batch_needs_one_dt_per_sample() -> None:
    with pytest.raises(ValueError, match="one dt per sample"):
        SampleBatch(SensorKind.ACCELEROMETER, 0, (0, 1), ((0, 0, 0),)).to_bytes()


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (Frame(0x00, 0, b""), "unknown_type"),
        (Frame(0x14, 0, b"\x01\x00\x00\x00\x00"), "unknown_type"),
        (Frame(0x13, 0, b"\x01\x00\x00\x00\x00"), "bad_length"),
        (Frame(0xFF, 0, b""), "unknown_type"),
        (Frame(FrameType.KEY_PRESS, 0, b""), "bad_length"),
        (Frame(FrameType.KEY_PRESS, 0, b"\x01\x00\x00\x00"), "bad_length"),
        (Frame(FrameType.KEY_PRESS, 0, b"\x01\x00\x00\x00\x00\x00"), "bad_length"),
        (Frame(FrameType.KEY_PRESS, 0, b"\x00\x00\x00\x00\x00"), "bad_value"),
        (Frame(FrameType.KEY_PRESS, 0, b"\x04\x00\x00\x00\x00"), "bad_value"),
        (Frame(FrameType.HEARTBEAT, 0, b"\x50\x00\x00\x00\x00"), "bad_length"),
        (Frame(FrameType.HEARTBEAT, 0, b"\x65\x00\x00\x00\x00\x00"), "bad_value"),  # 101 %
        (Frame(FrameType.SAMPLES, 0, b"\x01\x00\x00"), "bad_length"),
        (Frame(FrameType.SAMPLES, 0, b"\x01\x00\x00\x00\x00\x01\x00"), "bad_length"),
        (Frame(FrameType.SAMPLES, 0, b"\x01\x00\x00\x00\x00\x00\x00" + bytes(8)), "bad_length"),
        (Frame(FrameType.SAMPLES, 0, b"\x02\x00\x00\x00\x00\x00\x00"), "bad_value"),
        (Frame(FrameType.ACK, 0, b"\x01\x00"), "bad_length"),
        (Frame(FrameType.ACK, 0, b"\x01\x00\x00"), "bad_value"),
        (Frame(FrameType.ACK, 0, b"\x01\x00\x04"), "bad_value"),
        (Frame(FrameType.INDICATE, 0, b"\x01\x01\x00"), "bad_length"),
    ],
)
def test_decode_names_what_is_wrong(frame: Frame, reason: str) -> None:
    with pytest.raises(FrameError) as info:
        decode(frame)
    assert info.value.reason == reason
    assert isinstance(info.value, EdgeError)


@settings(max_examples=300, deadline=None)
@given(
    ftype=st.sampled_from(list(FrameType)) | st.integers(0, 0xFF),
    payload=st.binary(max_size=40)
    | st.builds(
        lambda n, rest: b"\x01\x00\x00\x00\x00" + n.to_bytes(2, "little") + rest,
        st.integers(0, 8),
        st.binary(max_size=80),
    ),
)
def test_decode_of_anything_returns_a_payload_or_raises_frame_error(
    ftype: int, payload: bytes
) -> None:
    frame = Frame(ftype, 9, payload)
    reason: str | None
    try:
        decoded = decode(frame)
    except FrameError as err:
        reason = err.reason
    else:
        reason = None
        assert to_frame(decoded, 9).type == ftype
        if ftype != FrameType.HEARTBEAT:  # heartbeat flag bits 2..7 are reserved, not kept
            assert decoded.to_bytes() == payload
    assert reason in {None, "unknown_type", "bad_length", "bad_value"}
