"""Wire contract v1: bytes <-> messages, and every way a payload is refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from protocol import (
    AlarmBody,
    AlarmKind,
    AlarmMessage,
    Channel,
    EventBody,
    EventMessage,
    MessageRejected,
    Origin,
    ProtocolError,
    RejectReason,
    TelemetryBatchMessage,
    TelemetrySeriesMessage,
    decode_downlink,
    decode_uplink,
    encode,
    new_message_id,
    parse_topic,
)
from protocol.codec import MAX_PAYLOAD_BYTES
from protocol.messages import MAX_BATCH_READINGS
from protocol.topics import GATEWAY_ID_PATTERN
from tests.protocol.samples import GATEWAY_ID, GATEWAY_TIME, sample_messages, topic_of

UPLINK = [
    Channel.ALARM,
    Channel.EVENT,
    Channel.TELEMETRY,
    Channel.TELEMETRY_BATCH,
    Channel.STATUS,
]
DOWNLINK = [Channel.RECEIPT, Channel.COMMAND, Channel.CONFIG]
ALARM_TOPIC = topic_of(Channel.ALARM)


def _decoder(channel: Channel) -> Callable[[str, bytes], BaseModel]:
    return decode_uplink if channel in UPLINK else decode_downlink


def _alarm_json() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(encode(sample_messages()[Channel.ALARM]))
    return raw


def _rejected(topic: str, payload: bytes, *, uplink: bool = True) -> RejectReason:
    decoder = decode_uplink if uplink else decode_downlink
    with pytest.raises(MessageRejected) as info:
        decoder(topic, payload)
    assert isinstance(info.value, ProtocolError)
    assert str(info.value).startswith(f"{info.value.reason.value}: ")
    return info.value.reason


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("channel", UPLINK + DOWNLINK, ids=str)
def test_every_message_type_round_trips(channel: Channel) -> None:
    message = sample_messages()[channel]
    payload = encode(message)

    decoded = _decoder(channel)(topic_of(channel), payload)

    assert type(decoded) is type(message)
    assert decoded == message
    assert encode(decoded) == payload  # byte-stable: re-encoding changes nothing


def test_device_time_keeps_its_utc_offset() -> None:
    message = sample_messages()[Channel.ALARM]
    decoded = decode_uplink(ALARM_TOPIC, encode(message))
    assert isinstance(decoded, AlarmMessage)
    assert decoded.device_time is not None
    assert decoded.device_time.utcoffset() == timedelta(hours=2)


def test_encode_is_compact_and_leaves_out_absent_optionals() -> None:
    payload = encode(sample_messages()[Channel.STATUS])
    raw = json.loads(payload)
    assert b" " not in payload
    assert "device_id" not in raw
    assert "device_time" not in raw
    assert raw["v"] == 1
    assert raw["type"] == "status"


def test_message_ids_are_fresh_32_hex_digits() -> None:
    ids = {new_message_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 32 and int(i, 16) >= 0 and i == i.lower() for i in ids)
    first, second = sample_messages(), sample_messages()
    assert first[Channel.ALARM].id != second[Channel.ALARM].id  # type: ignore[attr-defined]


# --- rejections --------------------------------------------------------------------------


def test_oversize_payload_is_too_large_but_exactly_the_limit_is_accepted() -> None:
    def event_of_size(size: int) -> bytes:
        base = EventMessage(
            gateway_id=GATEWAY_ID, gateway_time=GATEWAY_TIME, body=EventBody(kind="k")
        )
        probe = base.model_copy(update={"body": EventBody(kind="k", detail={"pad": ""})})
        pad = size - len(encode(probe))
        payload = encode(
            base.model_copy(update={"body": EventBody(kind="k", detail={"pad": "x" * pad})})
        )
        assert len(payload) == size
        return payload

    at_limit = event_of_size(MAX_PAYLOAD_BYTES)
    assert isinstance(decode_uplink(topic_of(Channel.EVENT), at_limit), EventMessage)

    over = event_of_size(MAX_PAYLOAD_BYTES + 1)
    assert _rejected(topic_of(Channel.EVENT), over) is RejectReason.TOO_LARGE


@pytest.mark.parametrize(
    "payload",
    [
        b'{"v":1,"id":"\xff\xfe"}',
        b"\xc3\x28",  # an invalid 2-byte UTF-8 sequence
        # A valid message in UTF-16 / UTF-32 is still not the UTF-8 the contract specifies.
        json.dumps(_alarm_json()).encode("utf-16"),
        json.dumps(_alarm_json()).encode("utf-16-le"),
        json.dumps(_alarm_json()).encode("utf-32"),
    ],
    ids=["bad-byte", "bad-sequence", "utf-16-bom", "utf-16-le", "utf-32"],
)
def test_non_utf8_is_not_json(payload: bytes) -> None:
    assert _rejected(ALARM_TOPIC, payload) is RejectReason.NOT_JSON


@pytest.mark.parametrize(
    "payload", [b"", b"{", b'{"v":1,}', b"{'v': 1}", b"nul", b'{"v":1} trailing', b"[" * 100_000]
)
def test_invalid_json_is_not_json(payload: bytes) -> None:
    assert _rejected(ALARM_TOPIC, payload) is RejectReason.NOT_JSON


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b"[" + encode(sample_messages()[Channel.ALARM]) + b"]",
        b"1",
        b'"alarm"',
        b"null",
        b"true",
    ],
)
def test_json_that_is_not_an_object_is_invalid(payload: bytes) -> None:
    assert _rejected(ALARM_TOPIC, payload) is RejectReason.INVALID


# 1.0 and true: pydantic's Literal[1] would take both as 1, even strictly; the contract does not.
@pytest.mark.parametrize("version", ["absent", 2, 0, "1", None, [1], 1.0, True])
def test_missing_or_other_schema_version_is_unsupported(version: object) -> None:
    assert _rejected(ALARM_TOPIC, _alarm_of_version(version)) is RejectReason.UNSUPPORTED_VERSION


@pytest.mark.parametrize("version", ["absent", True])
def test_the_version_is_named_before_a_topic_mismatch(version: object) -> None:
    """The version is the first rule (§12), also when the payload decodes by default."""
    topic = ALARM_TOPIC.replace("/alarm", "/event")
    assert _rejected(topic, _alarm_of_version(version)) is RejectReason.UNSUPPORTED_VERSION


def _alarm_of_version(version: object) -> bytes:
    raw = _alarm_json()
    if version == "absent":
        del raw["v"]
    else:
        raw["v"] = version
    return json.dumps(raw).encode()


def _batch_json() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(encode(sample_messages()[Channel.TELEMETRY_BATCH]))
    return raw


@pytest.mark.parametrize(
    "change",
    ["envelope device", "no readings", "too many readings", "naive time", "no fields"],
)
def test_telemetry_batch_breaking_its_rules_is_invalid(change: str) -> None:
    raw = _batch_json()
    readings = raw["body"]["readings"]
    if change == "envelope device":
        raw["device_id"] = "bed-1"  # each reading names its device; the envelope none
    elif change == "no readings":
        readings.clear()
    elif change == "too many readings":
        readings[:] = readings[:1] * (MAX_BATCH_READINGS + 1)
    elif change == "naive time":
        readings[0]["gateway_time"] = "2024-03-01T12:29:05"
    else:
        readings[1]["fields"] = {}
    payload = json.dumps(raw).encode()
    assert _rejected(topic_of(Channel.TELEMETRY_BATCH), payload) is RejectReason.INVALID


def _series_json() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(encode(sample_messages()[Channel.TELEMETRY_SERIES]))
    return raw


@pytest.mark.parametrize(
    "change",
    [
        "envelope device",
        "no series",
        "a column too short",
        "no times",
        "a time past year 9999",
        "a time as text",
        "no fields",
        "a value not a scalar",
        "a value NaN",
        "too many readings in all",
    ],
)
def test_telemetry_series_breaking_its_rules_is_invalid(change: str) -> None:
    raw = _series_json()
    series = raw["body"]["series"][0]
    if change == "envelope device":
        raw["device_id"] = "bed-1"  # each series names its device; the envelope none
    elif change == "no series":
        raw["body"]["series"] = []
    elif change == "a column too short":
        series["fields"]["heart_bpm"].pop()
    elif change == "no times":
        series["gateway_times_us"] = []
        series["fields"] = {"heart_bpm": []}
    elif change == "a time past year 9999":
        series["gateway_times_us"][0] = 253_402_300_800_000_000
    elif change == "a time as text":
        series["gateway_times_us"][0] = "1709295000000000"
    elif change == "no fields":
        series["fields"] = {}
    elif change == "a value not a scalar":
        series["fields"]["heart_bpm"][0] = [62.0]
    elif change == "a value NaN":
        series["fields"]["heart_bpm"][0] = float("nan")
    else:  # 999 + 999 + the battery's 1: more than a message may carry
        series["gateway_times_us"] = list(range(MAX_BATCH_READINGS - 1))
        series["fields"] = {"heart_bpm": [60.0] * (MAX_BATCH_READINGS - 1)}
        raw["body"]["series"].append(series)
    payload = json.dumps(raw).encode()
    assert _rejected(topic_of(Channel.TELEMETRY_SERIES), payload) is RejectReason.INVALID


def test_telemetry_series_of_the_most_readings_decodes_to_its_columns() -> None:
    raw = _series_json()
    series = raw["body"]["series"][0]
    series["gateway_times_us"] = list(range(MAX_BATCH_READINGS - 1))
    series["fields"] = {"heart_bpm": [60.5] * (MAX_BATCH_READINGS - 1)}
    message = decode_uplink(topic_of(Channel.TELEMETRY_SERIES), json.dumps(raw).encode())
    assert isinstance(message, TelemetrySeriesMessage)
    assert sum(len(one.gateway_times_us) for one in message.body.series) == MAX_BATCH_READINGS
    assert message.body.series[1].fields == {"percent": [79]}


def test_telemetry_batch_of_the_most_readings_decodes() -> None:
    raw = _batch_json()
    raw["body"]["readings"] = raw["body"]["readings"][:1] * MAX_BATCH_READINGS
    message = decode_uplink(topic_of(Channel.TELEMETRY_BATCH), json.dumps(raw).encode())
    assert isinstance(message, TelemetryBatchMessage)
    assert len(message.body.readings) == MAX_BATCH_READINGS


@pytest.mark.parametrize(
    "path",
    [
        ("gateway_id",),
        ("gateway_time",),
        ("type",),
        ("body",),
        ("body", "kind"),
        ("body", "priority"),
        ("body", "home_id"),
        ("body", "origin"),
        ("body", "origin", "transport"),
    ],
    ids=".".join,
)
def test_missing_required_field_is_invalid(path: tuple[str, ...]) -> None:
    raw = _alarm_json()
    node = raw
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    assert _rejected(ALARM_TOPIC, json.dumps(raw).encode()) is RejectReason.INVALID


@pytest.mark.parametrize("where", ["envelope", "body", "origin"])
def test_extra_unknown_field_is_invalid(where: str) -> None:
    raw = _alarm_json()
    node = {"envelope": raw, "body": raw["body"], "origin": raw["body"]["origin"]}[where]
    node["priorty"] = 0  # a typo must never pass silently
    assert _rejected(ALARM_TOPIC, json.dumps(raw).encode()) is RejectReason.INVALID


@pytest.mark.parametrize(
    "message_id",
    [
        "0123456789ABCDEF0123456789ABCDEF",  # upper case
        "0123456789abcdef0123456789abcde",  # 31 digits
        "0123456789abcdef0123456789abcdef0",  # 33 digits
        "01234567-89ab-cdef-0123-456789abcdef",  # dashed UUID
        "0123456789abcdef0123456789abcdeg",
        "",
        12345,
    ],
)
def test_bad_message_id_is_invalid(message_id: object) -> None:
    raw = _alarm_json()
    raw["id"] = message_id
    assert _rejected(ALARM_TOPIC, json.dumps(raw).encode()) is RejectReason.INVALID


def test_bad_ref_id_in_a_receipt_is_invalid() -> None:
    raw = json.loads(encode(sample_messages()[Channel.RECEIPT]))
    raw["body"]["ref_id"] = "not-an-id"
    reason = _rejected(topic_of(Channel.RECEIPT), json.dumps(raw).encode(), uplink=False)
    assert reason is RejectReason.INVALID


@pytest.mark.parametrize("field", ["gateway_time", "device_time"])
def test_naive_datetime_is_invalid(field: str) -> None:
    raw = _alarm_json()
    raw[field] = "2024-03-01T12:30:05"
    assert _rejected(ALARM_TOPIC, json.dumps(raw).encode()) is RejectReason.INVALID


@pytest.mark.parametrize("field", ["gateway_time", "device_time"])
@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-00:45", "0001-01-01T00:00:00.5+23:59"],
)
def test_time_without_a_utc_equivalent_is_invalid(field: str, value: str) -> None:
    """Found by ``make fuzz``: these decoded, then failed at the centre's UTC store on every
    resend (a poison message); they are refused once, at the boundary."""
    raw = _alarm_json()
    raw[field] = value
    assert _rejected(ALARM_TOPIC, json.dumps(raw).encode()) is RejectReason.INVALID


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00Z", "0001-01-01T01:00:00+01:00", "9999-12-31T23:59:59.999999Z"]
)
def test_times_at_the_edges_of_the_utc_range_decode(value: str) -> None:
    raw = _alarm_json()
    raw["gateway_time"] = value
    message = decode_uplink(ALARM_TOPIC, json.dumps(raw).encode())
    assert message.gateway_time == datetime.fromisoformat(value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (("body", "priority"), 10),
        (("body", "battery_percent"), 101),
        (("body", "kind"), "earthquake"),
        (("body", "origin", "frame_seq"), 65536),
        (("body", "origin", "transport"), "carrier_pigeon"),
        (("device_id",), "-starts-with-dash"),
        (("gateway_id",), "GW-7"),
    ],
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else str(v),
)
def test_out_of_range_values_are_invalid(field: tuple[str, ...], value: object) -> None:
    raw = _alarm_json()
    node = raw
    for key in field[:-1]:
        node = node[key]
    node[field[-1]] = value
    assert _rejected(ALARM_TOPIC, json.dumps(raw).encode()) is RejectReason.INVALID


@pytest.mark.parametrize("channel", [Channel.EVENT, Channel.TELEMETRY, Channel.STATUS])
def test_message_of_another_type_on_a_topic_is_topic_mismatch(channel: Channel) -> None:
    payload = encode(sample_messages()[Channel.ALARM])
    assert _rejected(topic_of(channel), payload) is RejectReason.TOPIC_MISMATCH


def test_receipt_on_the_command_topic_is_topic_mismatch() -> None:
    payload = encode(sample_messages()[Channel.RECEIPT])
    reason = _rejected(topic_of(Channel.COMMAND), payload, uplink=False)
    assert reason is RejectReason.TOPIC_MISMATCH


@pytest.mark.parametrize("channel", UPLINK + DOWNLINK, ids=str)
def test_gateway_id_other_than_the_topics_is_topic_mismatch(channel: Channel) -> None:
    payload = encode(sample_messages(gateway_id="gw-other")[channel])
    with pytest.raises(MessageRejected) as info:
        _decoder(channel)(topic_of(channel, GATEWAY_ID), payload)
    assert info.value.reason is RejectReason.TOPIC_MISMATCH
    assert "gw-other" in info.value.detail


@pytest.mark.parametrize("channel", DOWNLINK, ids=str)
def test_downlink_topic_given_to_decode_uplink_is_unknown_topic(channel: Channel) -> None:
    payload = encode(sample_messages()[channel])
    assert _rejected(topic_of(channel), payload) is RejectReason.UNKNOWN_TOPIC


@pytest.mark.parametrize("channel", UPLINK, ids=str)
def test_uplink_topic_given_to_decode_downlink_is_unknown_topic(channel: Channel) -> None:
    payload = encode(sample_messages()[channel])
    assert _rejected(topic_of(channel), payload, uplink=False) is RejectReason.UNKNOWN_TOPIC


@pytest.mark.parametrize(
    "topic",
    [
        f"eldercare/v1/{GATEWAY_ID}/up/fire",  # unknown channel
        f"eldercare/v1/{GATEWAY_ID}/up/Alarm",
        "",
        "eldercare/v1",
        f"eldercare/v1/{GATEWAY_ID}/up",
        f"eldercare/v1/{GATEWAY_ID}/up/alarm/extra",
        f"eldercare/v1/{GATEWAY_ID}/up/alarm/",
        f"/eldercare/v1/{GATEWAY_ID}/up/alarm",
        f"eldercare/v2/{GATEWAY_ID}/up/alarm",
        f"elderkare/v1/{GATEWAY_ID}/up/alarm",
        f"eldercare/v1/{GATEWAY_ID}/down/alarm",  # alarm never travels down
        f"eldercare/v1/{GATEWAY_ID}/UP/alarm",
        "eldercare/v1//up/alarm",
        "eldercare/v1/+/up/alarm",
        "eldercare/v1/#",
        "eldercare/v1/GW-7/up/alarm",
        f"eldercare/v1/{GATEWAY_ID}\n/up/alarm",
    ],
)
def test_malformed_topic_is_unknown_topic(topic: str) -> None:
    # A valid payload: the topic alone decides.
    assert _rejected(topic, encode(sample_messages()[Channel.ALARM])) is RejectReason.UNKNOWN_TOPIC


def test_topic_is_judged_before_the_payload() -> None:
    assert _rejected("not/ours", b"\xff" * 10) is RejectReason.UNKNOWN_TOPIC


# --- properties --------------------------------------------------------------------------

_PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)

# Objects shaped like an envelope, so the property also reaches validation and topic checks.
envelope_like = st.fixed_dictionaries(
    {},
    optional={
        "v": st.sampled_from([1, 2, True, 1.0, "1"]) | json_values,
        "id": st.just("0123456789abcdef0123456789abcdef") | json_values,
        "type": st.sampled_from([c.value for c in Channel]) | json_values,
        "gateway_id": st.sampled_from([GATEWAY_ID, "gw-other"]) | json_values,
        "gateway_time": st.just("2024-01-01T00:00:00Z") | json_values,
        "device_time": st.just("2024-01-01T00:00:00") | json_values,
        "body": json_values,
        "device_id": json_values,
    },
)


def _decodes_or_is_rejected(topic: str, payload: bytes) -> None:
    for decoder in (decode_uplink, decode_downlink):
        reason: RejectReason | None
        try:
            message = decoder(topic, payload)
        except MessageRejected as err:
            reason = err.reason
        else:
            reason = None
            assert message.gateway_id == parse_topic(topic).gateway_id
            assert message.type == parse_topic(topic).channel.value
        assert reason is None or isinstance(reason, RejectReason)


@_PROPERTY
@given(payload=st.binary(max_size=300), channel=st.sampled_from(list(Channel)))
def test_arbitrary_bytes_decode_or_are_rejected(payload: bytes, channel: Channel) -> None:
    _decodes_or_is_rejected(topic_of(channel), payload)


@_PROPERTY
@given(topic=st.text(max_size=60), payload=st.binary(max_size=50))
def test_arbitrary_topics_decode_or_are_rejected(topic: str, payload: bytes) -> None:
    _decodes_or_is_rejected(topic, payload)


@_PROPERTY
@given(value=json_values | envelope_like, channel=st.sampled_from(list(Channel)))
def test_arbitrary_json_decodes_or_is_rejected(value: object, channel: Channel) -> None:
    _decodes_or_is_rejected(topic_of(channel), json.dumps(value).encode())


def _aware_datetimes() -> st.SearchStrategy[datetime]:
    offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )
    return st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(9998, 12, 31), timezones=offsets
    )


short_text = st.text(max_size=200)
alarms = st.builds(
    AlarmMessage,
    id=st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
    gateway_id=st.from_regex(GATEWAY_ID_PATTERN, fullmatch=True),
    device_id=st.none() | st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}", fullmatch=True),
    device_time=st.none() | _aware_datetimes(),
    gateway_time=_aware_datetimes(),
    body=st.builds(
        AlarmBody,
        kind=st.sampled_from(AlarmKind),
        priority=st.integers(0, 9),
        home_id=short_text,
        origin=st.builds(
            Origin,
            transport=st.sampled_from(["serial", "zigbee2mqtt", "gateway"]),
            device_kind=short_text,
            frame_seq=st.none() | st.integers(0, 0xFFFF),
        ),
        battery_percent=st.none() | st.integers(0, 100),
    ),
)


@_PROPERTY
@given(message=alarms)
def test_any_valid_alarm_round_trips(message: AlarmMessage) -> None:
    payload = encode(message)
    decoded = decode_uplink(topic_of(Channel.ALARM, message.gateway_id), payload)
    assert decoded == message
    assert isinstance(decoded, AlarmMessage)
    assert decoded.gateway_time.utcoffset() == message.gateway_time.utcoffset()
    assert encode(decoded) == payload


def test_gateway_time_in_utc_round_trips_as_utc() -> None:
    message = sample_messages()[Channel.ALARM]
    decoded = decode_uplink(ALARM_TOPIC, encode(message))
    assert isinstance(decoded, AlarmMessage)
    assert decoded.gateway_time == GATEWAY_TIME
    assert decoded.gateway_time.utcoffset() == timedelta(0)
