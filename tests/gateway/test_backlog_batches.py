"""Backlogged telemetry gathered into telemetry_batch messages: order, limits, what stays alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.backlog import Kept
from gateway.backlog_batches import BATCH_SOURCE_BYTES, outgoing
from protocol import (
    Channel,
    EventBody,
    EventMessage,
    TelemetryBatchMessage,
    TelemetryBody,
    TelemetryMessage,
    decode_uplink,
    encode,
)
from protocol.codec import MAX_PAYLOAD_BYTES
from protocol.messages import MAX_BATCH_READINGS

GW = "gw-7"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def telemetry(seq: int, gateway_id: str = GW, pad: str = "") -> Kept:
    fields: dict[str, float | int | bool | str] = {"percent": seq % 100, "low": False}
    if pad:
        fields["note"] = pad
    message = TelemetryMessage(
        gateway_id=gateway_id,
        device_id=f"btn-{seq % 3}",
        gateway_time=NOW - timedelta(minutes=1000 - seq),
        body=TelemetryBody(measurement="battery", fields=fields),
    )
    return Kept(seq, "telemetry", encode(message))


def event(seq: int) -> Kept:
    message = EventMessage(gateway_id=GW, gateway_time=NOW, body=EventBody(kind="device_online"))
    return Kept(seq, "event", encode(message))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def readings_of(payload: bytes) -> list[tuple[str | None, datetime, dict[str, object]]]:
    message = decode_uplink(f"eldercare/v1/{GW}/up/telemetry_batch", payload)
    assert isinstance(message, TelemetryBatchMessage)
    assert message.gateway_time == NOW
    assert message.body.readings == []  # a gateway sends columns
    return [
        (series.device_id, _EPOCH + timedelta(microseconds=time_us), row)
        for series in message.body.series
        for time_us, row in zip(
            series.gateway_times_us,
            [
                dict(zip(series.fields, values, strict=True))
                for values in zip(*series.fields.values(), strict=True)
            ],
            strict=True,
        )
    ]


def test_runs_of_telemetry_become_batches_in_order_and_events_go_as_kept() -> None:
    kept = [telemetry(1), telemetry(2), telemetry(3), event(4), telemetry(5), telemetry(6)]

    messages = outgoing(kept, GW, NOW)

    assert [(m.channel, [r.seq for r in m.rows]) for m in messages] == [
        (Channel.TELEMETRY_BATCH, [1, 2, 3]),
        (Channel.EVENT, [4]),
        (Channel.TELEMETRY_BATCH, [5, 6]),
    ]
    assert messages[1].payload == kept[3].payload
    expected = []
    for row in (kept[0], kept[1], kept[2]):
        single = decode_uplink(f"eldercare/v1/{GW}/up/telemetry", row.payload)
        assert isinstance(single, TelemetryMessage)
        expected.append((single.device_id, single.gateway_time, dict(single.body.fields)))
    # One series per device, each in the kept order (a stable sort keeps it).
    by_device = sorted(readings_of(messages[0].payload), key=lambda r: r[0] or "")
    assert by_device == sorted(expected, key=lambda r: r[0] or "")


def test_a_lone_reading_and_what_does_not_read_back_go_as_kept() -> None:
    broken = Kept(2, "telemetry", b'{"not": "a message"}')
    foreign = telemetry(3, gateway_id="gw-other")
    kept = [telemetry(1), broken, foreign, event(4)]

    messages = outgoing(kept, GW, NOW)

    assert [(m.channel, m.payload) for m in messages] == [
        (Channel.TELEMETRY, kept[0].payload),
        (Channel.TELEMETRY, broken.payload),
        (Channel.TELEMETRY, foreign.payload),
        (Channel.EVENT, kept[3].payload),
    ]


def test_a_batch_holds_at_most_the_contracts_readings() -> None:
    kept = [telemetry(seq) for seq in range(MAX_BATCH_READINGS + 2)]

    messages = outgoing(kept, GW, NOW)

    assert [len(m.rows) for m in messages] == [MAX_BATCH_READINGS, 2]
    assert len(readings_of(messages[0].payload)) == MAX_BATCH_READINGS


def test_large_readings_are_cut_into_batches_under_the_payload_limit() -> None:
    kept = [telemetry(seq, pad="x" * 20_000) for seq in range(30)]

    messages = outgoing(kept, GW, NOW)

    assert len(messages) > 1
    assert sum(len(m.rows) for m in messages) == 30
    for message in messages:
        assert len(message.payload) <= MAX_PAYLOAD_BYTES
        assert sum(len(r.payload) for r in message.rows) <= BATCH_SOURCE_BYTES
        readings_of(message.payload)  # the centre takes it
