"""Delivery records pruned after the retention, on SQLite and PostgreSQL: only those of alarms
resolved before the cutoff, in batches, never those of an alarm still open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from protocol import encode
from server.centre import Centre
from server.db.models import Alarm
from server.db.notify_models import NotificationDelivery
from server.notify.retention import DeliveryRetention
from tests.factories import alarm_message
from tests.server.care_seed import seed_district

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DAYS = 180


def raise_alarm(centre: Centre, gateway_id: str) -> str:
    message = alarm_message(gateway_id, device_id="btn")
    centre.handler.handle(f"eldercare/v1/{gateway_id}/up/alarm", encode(message))
    return message.id


def resolve(centre: Centre, alarm_id: str, at: datetime) -> None:
    with centre.sessions.begin() as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        alarm.state, alarm.status, alarm.resolved_at = "resolved", "resolved", at


def record(centre: Centre, alarm_id: str, at: datetime, count: int = 1) -> None:
    with centre.sessions.begin() as session:
        for attempt in range(1, count + 1):
            session.add(
                NotificationDelivery(
                    alarm_id=alarm_id,
                    channel="mqtt",
                    target="eldercare/v1/responders/responder.1/notify",
                    notification_id=f"{alarm_id}/1/1",
                    ladder_attempt=1,
                    attempt=attempt,
                    outcome="delivered",
                    at=at,
                )
            )


def kept(centre: Centre) -> list[tuple[str, datetime]]:
    with centre.sessions() as session:
        rows = session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id))
        return [(row.alarm_id, row.at) for row in rows]


def test_old_records_of_resolved_alarms_go_and_open_alarms_keep_theirs(
    store_centre: Centre,
) -> None:
    with store_centre.sessions.begin() as session:
        gateway = seed_district(session).gateway_id
    closed, still_open, closed_late = (raise_alarm(store_centre, gateway) for _ in range(3))
    resolve(store_centre, closed, T0 + timedelta(hours=1))
    # Open for months, resolved only recently: a supervisor may still be reviewing it.
    resolve(store_centre, closed_late, T0 + timedelta(days=DAYS))
    for alarm_id in (closed, still_open, closed_late):
        record(store_centre, alarm_id, T0, count=5)
    recent = T0 + timedelta(days=DAYS - 1)
    record(store_centre, closed, recent)

    now = T0 + timedelta(days=DAYS + 1)
    retention = DeliveryRetention(store_centre.sessions, DAYS, batch_size=2)
    assert retention.prune(now) == 5  # three batches: 2, 2 and the last 1
    assert kept(store_centre) == [(still_open, T0)] * 5 + [(closed_late, T0)] * 5 + [
        (closed, recent)
    ]
    assert retention.prune(now) == 0


def test_one_run_deletes_at_most_its_batches_and_the_next_carries_on(
    store_centre: Centre,
) -> None:
    with store_centre.sessions.begin() as session:
        gateway = seed_district(session).gateway_id
    alarm_id = raise_alarm(store_centre, gateway)
    resolve(store_centre, alarm_id, T0)
    record(store_centre, alarm_id, T0, count=7)
    retention = DeliveryRetention(store_centre.sessions, DAYS, batch_size=3, max_batches=2)
    now = T0 + timedelta(days=DAYS + 1)
    assert retention.prune(now) == 6
    assert len(kept(store_centre)) == 1
    assert retention.prune(now) == 1
    assert kept(store_centre) == []


def test_nothing_goes_before_the_retention_has_passed(store_centre: Centre) -> None:
    with store_centre.sessions.begin() as session:
        gateway = seed_district(session).gateway_id
    alarm_id = raise_alarm(store_centre, gateway)
    resolve(store_centre, alarm_id, T0)
    record(store_centre, alarm_id, T0, count=2)
    retention = DeliveryRetention(store_centre.sessions, DAYS)
    assert retention.prune(T0 + timedelta(days=DAYS) - timedelta(seconds=1)) == 0
    assert len(kept(store_centre)) == 2
