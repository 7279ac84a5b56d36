"""Delivery records in SQL, on SQLite and PostgreSQL: every attempt is a row, whatever the
receiver said about it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from protocol import encode
from server.centre import Centre
from server.db.notify_models import NotificationDelivery
from server.dispatch.notifier import ResponderCall
from server.notify.deliveries import Delivery
from server.notify.message import Notification
from server.notify.stored_deliveries import StoredDeliveryLog
from tests.factories import alarm_message
from tests.server.care_seed import seed_district

AT = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
# A webhook receiver chooses its status line's reason phrase, of any length.
LONG_REASON = "Service Unavailable: the SMS provider's upstream gateway timed out, retry later"


def test_an_attempt_whose_receiver_said_a_lot_is_still_recorded(store_centre: Centre) -> None:
    """The error column holds 64 characters: PostgreSQL refused a longer reason phrase, so
    the attempt vanished from what supervisors read (SQLite does not enforce the length)."""
    with store_centre.sessions.begin() as session:
        district = seed_district(session)
    message = alarm_message(district.gateway_id, device_id="btn")
    store_centre.handler.handle(f"eldercare/v1/{district.gateway_id}/up/alarm", encode(message))
    worker = district.worker_ids[0]
    call = ResponderCall(message.id, worker, 1, 1, "sos", district.home_id, 1, AT)
    pending = Delivery.pending(
        Notification(call, "https://centre.example/responder/"),
        "webhook:sms",
        "https://sms.example/hook",
        None,
        AT,
    )
    StoredDeliveryLog(store_centre.sessions).save(
        pending.attempted("retrying", 503, LONG_REASON, AT)
    )
    with store_centre.sessions() as session:
        rows = session.scalars(select(NotificationDelivery)).all()
    assert [(r.outcome, r.status_code) for r in rows] == [("retrying", 503)]
    assert rows[0].error is not None
    assert LONG_REASON.startswith(rows[0].error)
    assert len(rows[0].error) <= 64
