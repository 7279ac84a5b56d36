"""Backlogged telemetry gathered into telemetry_series (or telemetry_batch) messages: order,
limits, what stays alone."""

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
    TelemetrySeriesMessage,
    decode_uplink,
    encode,
)
from protocol.codec import MAX_PAYLOAD_BYTES
from protocol.messages import MAX_BATCH_READINGS

GW = "gw-7"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def telemetry(
    seq: int, gateway_id: str = GW, pad: str = "", device: str | None = None, fields: int = 0
) -> Kept:
    """A kept battery reading; ``fields`` more numbered fields, ``pad`` a long text field."""
    values: dict[str, float | int | bool | str] = {"percent": seq % 100, "low": False}
    values |= {f"f{i}": i + seq for i in range(fields)}
    if pad:
        values["note"] = pad
    message = TelemetryMessage(
        gateway_id=gateway_id,
        device_id=device or f"btn-{seq % 3}",
        gateway_time=NOW - timedelta(minutes=1000 - seq),
        body=TelemetryBody(measurement="battery", fields=values),
    )
    return Kept(seq, "telemetry", encode(message))


def readings_of_kept(kept: list[Kept]) -> list[tuple[str | None, datetime, dict[str, object]]]:
    found = []
    for row in kept:
        single = decode_uplink(f"eldercare/v1/{GW}/up/telemetry", row.payload)
        assert isinstance(single, TelemetryMessage)
        found.append((single.device_id, single.gateway_time, dict(single.body.fields)))
    return found


def event(seq: int) -> Kept:
    message = EventMessage(gateway_id=GW, gateway_time=NOW, body=EventBody(kind="device_online"))
    return Kept(seq, "event", encode(message))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def readings_of(payload: bytes) -> list[tuple[str | None, datetime, dict[str, object]]]:
    """A ``telemetry_series`` message's readings, series by series."""
    message = decode_uplink(f"eldercare/v1/{GW}/up/telemetry_series", payload)
    assert isinstance(message, TelemetrySeriesMessage)
    assert message.gateway_time == NOW
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


def batch_readings_of(payload: bytes) -> list[tuple[str | None, datetime, dict[str, object]]]:
    message = decode_uplink(f"eldercare/v1/{GW}/up/telemetry_batch", payload)
    assert isinstance(message, TelemetryBatchMessage)
    return [(r.device_id, r.gateway_time, dict(r.fields)) for r in message.body.readings]


def test_runs_of_telemetry_become_batches_in_order_and_events_go_as_kept() -> None:
    kept = [telemetry(1), telemetry(2), telemetry(3), event(4), telemetry(5), telemetry(6)]

    messages = outgoing(kept, GW, NOW)

    assert [(m.channel, [r.seq for r in m.rows]) for m in messages] == [
        (Channel.TELEMETRY_SERIES, [1, 2, 3]),
        (Channel.EVENT, [4]),
        (Channel.TELEMETRY_SERIES, [5, 6]),
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


def test_towards_an_older_centre_runs_go_as_telemetry_batch_reading_objects() -> None:
    kept = [telemetry(1), telemetry(2), telemetry(3)]

    [message] = outgoing(kept, GW, NOW, as_columns=False)

    assert message.channel is Channel.TELEMETRY_BATCH
    by_device = sorted(readings_of_kept(kept), key=lambda r: r[0] or "")
    assert batch_readings_of(message.payload) == readings_of_kept(kept)
    assert sorted(readings_of(outgoing(kept, GW, NOW)[0].payload), key=lambda r: r[0] or "") == (
        by_device
    )


def test_columns_over_the_payload_limit_are_halved_until_each_fits() -> None:
    """A reading alone in its series with many fields costs more as columns than it did as a
    message: such a run is split rather than sent too large for the centre."""
    kept = [telemetry(seq, device=f"dev-{seq}", fields=62) for seq in range(400)]
    # The rows the source-byte limit alone would put in the first message.
    sizes = [len(row.payload) for row in kept]
    by_source = next(k for k in range(len(kept)) if sum(sizes[: k + 1]) > BATCH_SOURCE_BYTES)

    messages = outgoing(kept, GW, NOW)

    assert len(messages[0].rows) < by_source  # halved
    assert [row.seq for m in messages for row in m.rows] == list(range(400))
    for message in messages:
        assert message.channel is Channel.TELEMETRY_SERIES
        assert len(message.payload) <= MAX_PAYLOAD_BYTES
        assert len(readings_of(message.payload)) == len(message.rows)


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
