"""UplinkHandler against a real (SQLite) store: store-then-receipt, dedupe, dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from protocol import (
    AlarmMessage,
    EventBody,
    EventMessage,
    StatusBody,
    StatusMessage,
    TelemetryBody,
    TelemetryMessage,
    decode_downlink,
    encode,
)
from server.centre import Centre
from server.db.models import Alarm, DeviceEvent, Gateway, RejectedMessage
from server.ingest.handler import Outgoing, UplinkHandler
from server.telemetry.batching import BatchingWriter, BatchPolicy
from server.telemetry.embedded import EmbeddedTelemetryStore
from tests.factories import alarm_message

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.fixture
def handler(centre: Centre) -> UplinkHandler:
    return UplinkHandler(centre.sessions, centre.telemetry, clock=NOW.timestamp)


def alarm(gateway_id: str = "gw-1") -> AlarmMessage:
    return alarm_message(gateway_id, gateway_time=NOW)


def test_alarm_is_stored_then_receipted_then_announced(
    handler: UplinkHandler, centre: Centre
) -> None:
    message = alarm()
    out = handler.handle("eldercare/v1/gw-1/up/alarm", encode(message))
    [(topic, payload)] = out.publish
    assert topic == "eldercare/v1/gw-1/down/receipt"
    receipt = decode_downlink(topic, payload)
    assert receipt.body.ref_id == message.id  # type: ignore[union-attr]
    assert receipt.body.duplicate is False  # type: ignore[union-attr]
    [event] = out.live
    assert event["type"] == "alarm.raised"
    assert event["alarm"]["id"] == message.id
    with centre.sessions() as session:
        stored = session.get(Alarm, message.id)
        assert stored is not None
        assert stored.status == "open"
        assert stored.received_at == NOW
        assert stored.gateway_time == NOW


def test_duplicate_gets_a_receipt_but_no_second_alarm_or_event(
    handler: UplinkHandler, centre: Centre
) -> None:
    payload = encode(alarm())
    handler.handle("eldercare/v1/gw-1/up/alarm", payload)
    again = handler.handle("eldercare/v1/gw-1/up/alarm", payload)
    assert again.live == []
    assert decode_downlink(*again.publish[0]).body.duplicate is True  # type: ignore[union-attr]
    with centre.sessions() as session:
        assert len(session.scalars(select(Alarm)).all()) == 1
    assert handler.counts["duplicate_alarm"] == 1


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("eldercare/v1/gw-1/up/alarm", b"\xff\xfe", "not_json"),
        ("eldercare/v1/gw-1/up/alarm", b'{"v": 3}', "unsupported_version"),
        ("eldercare/v1/gw-1/up/alarm", b'{"v": 1, "type": "alarm"}', "invalid"),
        ("eldercare/v1/gw-2/up/alarm", None, "topic_mismatch"),  # gw-1's alarm on gw-2's topic
        ("eldercare/v1/gw-1/up/bogus", b"{}", "unknown_topic"),
    ],
)
def test_bad_payload_becomes_a_dead_letter_with_its_reason(
    handler: UplinkHandler, centre: Centre, topic: str, payload: bytes | None, reason: str
) -> None:
    raw = encode(alarm()) if payload is None else payload
    out = handler.handle(topic, raw)
    assert out.publish == []
    assert out.live == []
    with centre.sessions() as session:
        [dead] = session.scalars(select(RejectedMessage)).all()
        assert dead.reason == reason
        assert dead.topic == topic
        assert dead.detail
        assert dead.payload == raw.decode("utf-8", errors="backslashreplace")
        assert session.scalars(select(Alarm)).all() == []


@pytest.mark.parametrize("field", ["gateway_time", "device_time"])
def test_alarm_with_a_time_the_store_cannot_hold_is_a_dead_letter(
    handler: UplinkHandler, centre: Centre, field: str
) -> None:
    """Found by ``make fuzz``: the store keeps times in UTC, and this one has no UTC
    equivalent. It used to fail inside the store on every resend; now it is refused once."""
    raw = json.loads(encode(alarm()))
    raw[field] = "0001-01-01T00:00:00+01:00"
    out = handler.handle("eldercare/v1/gw-1/up/alarm", json.dumps(raw).encode())
    assert out.publish == []
    assert handler.counts["rejected_invalid"] == 1
    with centre.sessions() as session:
        [dead] = session.scalars(select(RejectedMessage)).all()
        assert dead.reason == "invalid"
        assert session.scalars(select(Alarm)).all() == []


def test_status_updates_the_gateway_record(handler: UplinkHandler, centre: Centre) -> None:
    for state in ("online", "offline"):
        status = StatusMessage(
            gateway_id="gw-1",
            gateway_time=NOW,
            body=StatusBody(state=state, heartbeat_interval_s=30, home_id="home-1"),  # type: ignore[arg-type]
        )
        handler.handle("eldercare/v1/gw-1/up/status", encode(status))
        with centre.sessions() as session:
            gateway = session.get(Gateway, "gw-1")
            assert gateway is not None
            assert gateway.state == state


def test_telemetry_goes_to_the_telemetry_store(handler: UplinkHandler, centre: Centre) -> None:
    point = TelemetryMessage(
        gateway_id="gw-1",
        device_id="call-button-1",
        gateway_time=NOW,
        body=TelemetryBody(measurement="battery", fields={"percent": 55, "low": False}),
    )
    centre.telemetry.start()
    assert handler.handle("eldercare/v1/gw-1/up/telemetry", encode(point)) == Outgoing()
    assert centre.telemetry.flush()
    store = centre.telemetry_store
    assert isinstance(store, EmbeddedTelemetryStore)
    [(time_ns, tags, fields)] = store.query("battery")
    assert time_ns == int(NOW.timestamp() * 1e9)
    assert tags == {"gateway_id": "gw-1", "device_id": "call-button-1"}
    assert fields == {"percent": 55, "low": False}


def test_a_telemetry_backlog_is_shed_and_counted_and_alarms_go_on(centre: Centre) -> None:
    # The writer is not running and holds two points: the telemetry store is not keeping up.
    writer = BatchingWriter(centre.telemetry_store, BatchPolicy(batch_size=1, queue_bound=2))
    handler = UplinkHandler(centre.sessions, writer, clock=NOW.timestamp)
    for percent in range(5):
        point = TelemetryMessage(
            gateway_id="gw-1",
            gateway_time=NOW,
            body=TelemetryBody(measurement="battery", fields={"percent": percent}),
        )
        handler.handle("eldercare/v1/gw-1/up/telemetry", encode(point))

    out = handler.handle("eldercare/v1/gw-1/up/alarm", encode(alarm()))

    assert handler.counts["telemetry_displaced_oldest"] == 3
    assert writer.stats().dropped == {"queue_full": 3}
    assert writer.stats().queued == 2
    assert decode_downlink(*out.publish[0]).body.duplicate is False  # type: ignore[union-attr]
    with centre.sessions() as session:
        assert len(session.scalars(select(Alarm)).all()) == 1


def test_event_is_stored_once_and_receipted_every_time(
    handler: UplinkHandler, centre: Centre
) -> None:
    event = EventMessage(
        gateway_id="gw-1",
        device_id="wearable-1",
        gateway_time=NOW,
        body=EventBody(kind="fall_cancelled", detail={"alarm_id": "a" * 32}),
    )
    for _ in range(2):  # the gateway resends until it has a receipt
        out = handler.handle("eldercare/v1/gw-1/up/event", encode(event))
        [(topic, payload)] = out.publish
        assert topic == "eldercare/v1/gw-1/down/receipt"
        assert decode_downlink(topic, payload).body.ref_id == event.id  # type: ignore[union-attr]
    with centre.sessions() as session:
        assert len(session.scalars(select(DeviceEvent)).all()) == 1


def test_a_routine_batch_is_one_commit_with_every_answer_and_alarms_still_their_own(
    handler: UplinkHandler, centre: Centre
) -> None:
    statuses = [
        (
            f"eldercare/v1/gw-{i}/up/status",
            encode(
                StatusMessage(
                    gateway_id=f"gw-{i}",
                    gateway_time=NOW,
                    body=StatusBody(state="online", heartbeat_interval_s=30, home_id=f"h-{i}"),
                )
            ),
        )
        for i in range(50)
    ]
    event = EventMessage(
        gateway_id="gw-1", gateway_time=NOW, body=EventBody(kind="prompt_answered")
    )
    urgent = alarm()
    batch = [
        *statuses,
        ("eldercare/v1/gw-1/up/event", encode(event)),
        ("eldercare/v1/gw-1/up/alarm", encode(urgent)),
        ("eldercare/v1/gw-1/up/status", b"{not json"),
    ]
    commits = 0

    def count(_session: object) -> None:
        nonlocal commits
        commits += 1

    from sqlalchemy import event as sa_event
    from sqlalchemy.orm import Session

    sa_event.listen(Session, "after_commit", count)
    try:
        out = handler.handle_many(batch)
    finally:
        sa_event.remove(Session, "after_commit", count)
    # The alarm's own transaction, one for the batch, one for the dead letter.
    assert commits == 3
    refs = sorted(decode_downlink(t, p).body.ref_id for t, p in out.publish)  # type: ignore[union-attr]
    assert refs == sorted([event.id, urgent.id])
    with centre.sessions() as session:
        assert len(session.scalars(select(Gateway)).all()) == 50
        assert session.get(DeviceEvent, event.id) is not None
        assert session.get(Alarm, urgent.id) is not None
        assert len(session.scalars(select(RejectedMessage)).all()) == 1
