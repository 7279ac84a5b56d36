"""The dispatch engine on a real store, time injected: linking, the ladder, answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from protocol import AlarmBody, AlarmKind, AlarmMessage, Origin
from protocol.messages import DEFAULT_PRIORITY
from server import Conflict
from server.api.deps import commit_then
from server.centre import Centre
from server.crud import lifecycle
from server.crud.alarms import get_alarm, ingest_alarm
from server.db.care_models import Responder
from server.db.dispatch_models import ServiceOrder
from server.db.models import Alarm
from server.dispatch.notifier import RecordingNotifier
from tests.server.care_seed import T0, District, seed_district


def raise_alarm(
    centre: Centre, kind: AlarmKind, *, gateway_id: str = "gw-1", at: datetime = T0
) -> str:
    message = AlarmMessage(
        gateway_id=gateway_id,
        device_id="call-button-1",
        gateway_time=at,
        body=AlarmBody(
            kind=kind,
            priority=DEFAULT_PRIORITY[kind],
            home_id="declared-by-gateway",
            origin=Origin(transport="serial", device_kind="call_button", frame_seq=1),
        ),
    )
    with centre.sessions.begin() as session:
        assert ingest_alarm(session, message, at)
    return message.id


def district(centre: Centre, **settings: Any) -> District:
    with centre.sessions.begin() as session:
        return seed_district(session, settings=settings)


def alarm(centre: Centre, alarm_id: str) -> Alarm:
    with centre.sessions() as session:
        return get_alarm(session, alarm_id)


def actions(centre: Centre, alarm_id: str) -> list[tuple[str, int | None]]:
    with centre.sessions() as session:
        return [(a.action, a.responder_id) for a in lifecycle.history(session, alarm_id)]


def desk(centre: Centre, action: str, *args: Any) -> None:
    """Run a desk action in its own transaction, then what it asks to run after commit."""
    with centre.sessions() as session:
        after = getattr(centre.desk, action)(session, *args)
        commit_then(session, after)


def notifier(centre: Centre) -> RecordingNotifier:
    assert isinstance(centre.dispatch.notifier, RecordingNotifier)
    return centre.dispatch.notifier


def test_alarm_from_a_mapped_gateway_is_linked_and_made_more_urgent(centre: Centre) -> None:
    d = district(centre)
    alarm_id = raise_alarm(centre, AlarmKind.MISSED_CHECKIN)  # kind priority 3
    stored = alarm(centre, alarm_id)
    assert (stored.home_id, stored.resident_id, stored.organisation_id) == (
        d.home_id,
        d.resident_id,
        d.community_id,
    )
    assert stored.priority == 1  # living alone and dementia: two steps more urgent
    assert (stored.state, stored.status) == ("raised", "open")
    assert stored.escalation_state == "pending"
    assert stored.next_step_at == T0
    assert actions(centre, alarm_id) == [("raised", None)]


def test_unknown_gateway_keeps_its_declared_home_and_waits_for_an_operator(
    centre: Centre,
) -> None:
    district(centre)
    alarm_id = raise_alarm(centre, AlarmKind.FALL, gateway_id="gw-unknown")
    stored = alarm(centre, alarm_id)
    assert stored.home_id == "declared-by-gateway"
    assert stored.resident_id is None
    assert stored.escalation_state is None
    assert centre.dispatch.tick(T0 + timedelta(hours=1)) == 0


def test_service_request_opens_a_service_order_and_is_not_escalated(centre: Centre) -> None:
    d = district(centre)
    alarm_id = raise_alarm(centre, AlarmKind.SERVICE_REQUEST)
    with centre.sessions() as session:
        [order] = session.scalars(select(ServiceOrder)).all()
    assert (order.alarm_id, order.home_id, order.resident_id) == (
        alarm_id,
        d.home_id,
        d.resident_id,
    )
    assert (order.state, order.service) == ("requested", None)
    assert alarm(centre, alarm_id).escalation_state is None


def test_nobody_accepts_the_ladder_runs_to_the_operator(store_centre: Centre) -> None:
    centre = store_centre
    d = district(centre, notify_timeout_s=60, notify_attempts=2)
    alarm_id = raise_alarm(centre, AlarmKind.FALL)
    near, far = d.worker_ids
    expected = [d.daughter_id, near, far, d.ambulance_id]  # family, skilled, other, 120
    now = T0
    for responder_id in expected:
        for attempt in (1, 2):
            assert centre.dispatch.tick(now) == 1
            assert centre.dispatch.tick(now + timedelta(seconds=59)) == 0  # not due yet
            call = notifier(centre).calls[-1]
            assert (call.responder_id, call.attempt, call.at) == (responder_id, attempt, now)
            now += timedelta(seconds=60)
    assert not notifier(centre).alerts
    assert centre.dispatch.tick(now) == 1
    [alert] = notifier(centre).alerts
    assert (alert.alarm_id, alert.tried, alert.at) == (alarm_id, 4, now)
    stored = alarm(centre, alarm_id)
    assert (stored.state, stored.escalation_state, stored.next_step_at) == (
        "dispatched",
        "exhausted",
        None,
    )
    history = actions(centre, alarm_id)
    assert [a for a, _ in history] == ["raised"] + ["dispatched", "renotified"] * 4 + [
        "operator_alerted"
    ]
    assert [r for a, r in history if a == "dispatched"] == expected
    assert centre.dispatch.tick(now + timedelta(hours=1)) == 0  # the ladder is over


def test_accept_stops_the_ladder_and_resolve_frees_the_responder(centre: Centre) -> None:
    d = district(centre, levels=[{"kinds": ["care_worker"], "responders": 2}])
    alarm_id = raise_alarm(centre, AlarmKind.EMERGENCY_CALL)
    near = d.worker_ids[0]
    centre.dispatch.tick(T0)
    with centre.sessions.begin() as session, pytest.raises(Conflict, match="not the one asked"):
        centre.desk.accept(session, alarm_id, d.worker_ids[1], "li", T0)
    with centre.sessions.begin() as session:
        centre.desk.accept(session, alarm_id, near, "li", T0 + timedelta(seconds=20))
    assert centre.dispatch.tick(T0 + timedelta(hours=1)) == 0
    assert len(notifier(centre).calls) == 1
    for to_state in ("en_route", "on_scene"):
        with centre.sessions.begin() as session:
            centre.desk.advance(session, alarm_id, to_state, "li", T0 + timedelta(minutes=5))
    with centre.sessions() as session:
        assert session.get(Responder, near).status == "busy"  # type: ignore[union-attr]
    with centre.sessions.begin() as session:
        centre.desk.resolve(
            session, alarm_id, "real_emergency", "operator", T0 + timedelta(minutes=30), "ok"
        )
    stored = alarm(centre, alarm_id)
    assert (stored.state, stored.status, stored.outcome) == (
        "resolved",
        "resolved",
        "real_emergency",
    )
    with centre.sessions() as session:
        assert session.get(Responder, near).status == "available"  # type: ignore[union-attr]
    assert [a for a, _ in actions(centre, alarm_id)] == [
        "raised",
        "dispatched",
        "accepted",
        "en_route",
        "on_scene",
        "resolved",
    ]
    with centre.sessions.begin() as session, pytest.raises(Conflict):
        centre.desk.advance(session, alarm_id, "on_scene", "li", T0 + timedelta(hours=1))


def test_decline_asks_the_next_responder_at_once(centre: Centre) -> None:
    d = district(centre, levels=[{"kinds": ["care_worker"], "responders": 2}])
    alarm_id = raise_alarm(centre, AlarmKind.FALL)
    centre.dispatch.tick(T0)
    with centre.sessions.begin() as session:
        centre.desk.decline(session, alarm_id, d.worker_ids[0], "li", T0 + timedelta(seconds=5))
    assert centre.dispatch.tick(T0 + timedelta(seconds=5)) == 1
    assert notifier(centre).calls[-1].responder_id == d.worker_ids[1]


def test_operator_override_and_cancel(centre: Centre) -> None:
    d = district(centre)
    alarm_id = raise_alarm(centre, AlarmKind.FALL)
    desk(centre, "dispatch", alarm_id, d.ambulance_id, "operator", T0)
    assert notifier(centre).calls[-1].responder_id == d.ambulance_id
    stored = alarm(centre, alarm_id)
    assert (stored.state, stored.responder_id) == ("dispatched", d.ambulance_id)
    with centre.sessions.begin() as session:
        centre.desk.cancel_escalation(session, alarm_id, "operator", T0, "I am on the phone")
    assert centre.dispatch.tick(T0 + timedelta(hours=1)) == 0
    assert len(notifier(centre).calls) == 1
    assert actions(centre, alarm_id)[-1] == ("escalation_cancelled", None)


def test_a_stale_writer_loses_instead_of_overwriting(store_centre: Centre) -> None:
    centre = store_centre
    district(centre)
    alarm_id = raise_alarm(centre, AlarmKind.FALL)
    first, second = centre.sessions(), centre.sessions()
    try:
        mine = first.get(Alarm, alarm_id)
        theirs = second.get(Alarm, alarm_id)
        assert mine is not None
        assert theirs is not None
        lifecycle.move(first, mine, "acknowledged", "a", T0)
        first.commit()
        lifecycle.move(second, theirs, "acknowledged", "b", T0)
        with pytest.raises(Conflict):
            lifecycle.save(second)
    finally:
        first.close()
        second.close()
    assert [a for a in actions(centre, alarm_id) if a[0] == "acknowledged"] == [
        ("acknowledged", None)
    ]


def test_lifecycle_changes_reach_the_live_hub(
    centre: Centre, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[dict[str, Any]] = []
    monkeypatch.setattr(centre.hub, "publish", published.append)
    district(centre)
    alarm_id = raise_alarm(centre, AlarmKind.FALL)
    centre.dispatch.tick(T0)
    assert [(e["type"], e["alarm"]["id"], e["alarm"]["state"]) for e in published] == [
        ("alarm.dispatched", alarm_id, "dispatched")
    ]
