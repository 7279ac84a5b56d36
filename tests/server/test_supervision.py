"""Gateways that go silent: the will and missed heartbeats each raise one alarm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from protocol import StatusBody, StatusMessage, encode
from server.centre import Centre
from server.db.models import Alarm, Gateway
from server.ingest.handler import UplinkHandler

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def status(state: str, at: datetime) -> bytes:
    return encode(
        StatusMessage(
            gateway_id="gw-1",
            gateway_time=at,
            body=StatusBody(state=state, heartbeat_interval_s=30, home_id="home-1"),  # type: ignore[arg-type]
        )
    )


def offline_alarms(centre: Centre) -> list[Alarm]:
    with centre.sessions() as session:
        return list(session.scalars(select(Alarm).where(Alarm.kind == "gateway_offline")))


def test_missed_heartbeats_raise_one_alarm_per_silence(centre: Centre) -> None:
    UplinkHandler(centre.sessions, centre.telemetry, clock=T0.timestamp).handle(
        "eldercare/v1/gw-1/up/status", status("online", T0)
    )
    assert centre.watch.check(T0 + timedelta(seconds=60)) == 0  # two intervals: not yet
    assert centre.watch.check(T0 + timedelta(seconds=61)) == 1
    assert centre.watch.check(T0 + timedelta(seconds=300)) == 0  # once per silence
    [alarm] = offline_alarms(centre)
    assert alarm.home_id == "home-1"
    assert alarm.device_time == T0  # last heard
    with centre.sessions() as session:
        gateway = session.get(Gateway, "gw-1")
        assert gateway is not None
        assert gateway.state == "silent"


def test_will_raises_an_alarm_and_an_older_offline_does_not(centre: Centre) -> None:
    clock = [T0.timestamp()]
    handler = UplinkHandler(centre.sessions, centre.telemetry, clock=lambda: clock[0])
    handler.handle("eldercare/v1/gw-1/up/status", status("online", T0))
    clock[0] += 10
    out = handler.handle("eldercare/v1/gw-1/up/status", status("offline", T0))
    assert [e["alarm"]["kind"] for e in out.live] == ["gateway_offline"]
    assert len(offline_alarms(centre)) == 1
    clock[0] += 10
    handler.handle("eldercare/v1/gw-1/up/status", status("online", T0))  # back
    assert len(offline_alarms(centre)) == 1


def test_missed_heartbeats_then_the_will_is_one_alarm(centre: Centre) -> None:
    clock = [T0.timestamp()]
    handler = UplinkHandler(centre.sessions, centre.telemetry, clock=lambda: clock[0])
    handler.handle("eldercare/v1/gw-1/up/status", status("online", T0))
    assert centre.watch.check(T0 + timedelta(seconds=90)) == 1
    clock[0] += 120  # the broker notices the dead connection later and publishes the will
    handler.handle("eldercare/v1/gw-1/up/status", status("offline", T0))
    clock[0] += 600  # a server restart re-delivers the retained will
    handler.handle("eldercare/v1/gw-1/up/status", status("offline", T0))
    assert len(offline_alarms(centre)) == 1
