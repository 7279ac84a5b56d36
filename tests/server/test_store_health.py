"""A store that refuses writes (down, locked, full) is one loud episode, not a flood, and not
silent: one CRITICAL line, a held live event, /api/health and the metrics say so; when it is
back, one INFO line, the resent alarm is stored once and the episode becomes a server_fault
alarm in the history."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import IntegrityError, OperationalError

from onebox.net import wait_for
from protocol import TelemetryBody, TelemetryMessage, encode
from protocol.mqtt import BrokerEndpoint
from server.centre import Centre
from server.core.config import ServerSettings
from server.db.models import Alarm, Gateway
from server.ingest.broker import BrokerLink
from server.main import create_app
from server.periodic import PeriodicJob
from server.store_fault_record import CENTRE_ID
from server.store_health import StoreFault, StoreHealth, is_store_fault, server_fault_alarm
from server.supervision import overdue
from tests.factories import alarm_message
from tests.server.test_api import PASSWORD, login
from tests.server.test_metrics import samples

TOPIC = "eldercare/v1/gw-1/up/alarm"


class Outage:
    """Makes every statement on ``engine`` fail as SQLite does with a full disk, until healed."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        event.listen(engine, "before_cursor_execute", self._refuse)

    def _refuse(self, *_args: Any) -> None:
        if self.on:
            raise sqlite3.OperationalError("database or disk is full")


class RecordingHub:
    """Stands in for the live hub: what consoles would have been sent."""

    def __init__(self) -> None:
        self.held: dict[str, dict[str, Any]] = {}
        self.sent: list[str] = []

    def hold(self, key: str, event: dict[str, Any]) -> None:
        self.held[key] = event
        self.sent.append(event["type"])

    def release(self, key: str, event: dict[str, Any]) -> None:
        self.held.pop(key, None)
        self.sent.append(event["type"])

    def publish(self, event: dict[str, Any]) -> None:
        self.sent.append(event["type"])


@pytest.fixture
def rig(centre: Centre) -> tuple[Centre, BrokerLink, StoreHealth, RecordingHub, Outage]:
    hub = RecordingHub()
    health = StoreHealth("7", centre.sessions, hub)  # type: ignore[arg-type]
    endpoint = BrokerEndpoint("127.0.0.1", 1, "server", "x")  # never connected
    link = BrokerLink(endpoint, "7", centre.handler, hub, health)  # type: ignore[arg-type]
    return centre, link, health, hub, Outage(centre.engine)


def ingest(link: BrokerLink, payload: bytes) -> None:
    """What an ingest lane does with one alarm, on this thread."""
    link._run(TOPIC, partial(link._handler.handle, TOPIC, payload), urgent=True)


def test_an_outage_is_one_critical_line_then_one_recorded_server_fault(
    rig: tuple[Centre, BrokerLink, StoreHealth, RecordingHub, Outage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    centre, link, health, hub, outage = rig
    alarms = [encode(alarm_message("gw-1", frame_seq=n)) for n in range(5)]
    outage.on = True
    with caplog.at_level(logging.INFO):
        for payload in alarms:
            ingest(link, payload)
            ingest(link, payload)  # the gateway resends: no receipt went out
        assert health.fault is not None
        assert hub.held["store"]["type"] == "store.fault"
        assert "database or disk is full" in hub.held["store"]["error"]
        outage.on = False
        for payload in alarms:
            ingest(link, payload)
            ingest(link, payload)  # a resend crossing the receipt: a duplicate, stored once

    problems = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.levelname for r in problems] == ["CRITICAL"]  # one line, not ten
    back = [r for r in caplog.records if "takes writes again" in r.getMessage()]
    assert [r.levelname for r in back] == ["INFO"]
    assert health.fault is None
    assert health.refused == 10
    assert hub.held == {}
    assert hub.sent[:2] == ["store.fault", "store.ok"]
    with centre.sessions() as session:
        kinds = session.scalars(select(Alarm.kind).where(Alarm.gateway_id == "gw-1")).all()
        [fault] = session.scalars(select(Alarm).where(Alarm.gateway_id == CENTRE_ID)).all()
    assert kinds == ["emergency_call"] * 5
    assert (fault.kind, fault.status, fault.device_id) == ("server_fault", "open", "server-7")
    detail = fault.message["body"]["detail"]
    assert detail["refused_writes"] == 10
    assert detail["reason"] == "store_unavailable"


def test_an_episode_not_recordable_yet_is_recorded_on_a_later_answer(
    rig: tuple[Centre, BrokerLink, StoreHealth, RecordingHub, Outage],
) -> None:
    centre, _link, health, _hub, outage = rig
    health.failed(OperationalError("INSERT", {}, sqlite3.OperationalError("locked")), "test")
    outage.on = True
    health.answered()  # a write went through, but the record of the episode does not
    assert health.fault is None
    outage.on = False
    health.answered()
    health.answered()
    with centre.sessions() as session:
        faults = session.scalars(select(Alarm.id).where(Alarm.kind == "server_fault")).all()
    assert len(faults) == 1


def test_a_message_the_database_refuses_is_not_a_store_fault() -> None:
    refused = IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert not is_store_fault(refused)
    assert is_store_fault(OperationalError("SELECT 1", {}, sqlite3.OperationalError("locked")))


def test_telemetry_alone_does_not_end_an_episode(
    rig: tuple[Centre, BrokerLink, StoreHealth, RecordingHub, Outage],
) -> None:
    _centre, link, health, _hub, _outage = rig
    health.failed(OperationalError("INSERT", {}, sqlite3.OperationalError("locked")), "test")
    point = TelemetryMessage(
        gateway_id="gw-1",
        gateway_time=datetime.now(UTC),
        body=TelemetryBody(measurement="battery", fields={"percent": 80}),
    )
    batch = [("eldercare/v1/gw-1/up/telemetry", encode(point))]  # never reaches SQL
    link._run("t", partial(link._handler.handle_many, batch), urgent=False)
    assert health.fault is not None


def test_periodic_jobs_report_the_fault_instead_of_a_traceback_per_run(
    rig: tuple[Centre, BrokerLink, StoreHealth, RecordingHub, Outage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    centre, _link, health, _hub, outage = rig
    outage.on = True
    job = PeriodicJob("gateway-watch", 0.01, lambda now: centre.watch.check(now), health)
    with caplog.at_level(logging.INFO):
        job.start()
        try:
            wait_for(lambda: health.refused >= 3, 10, "three failed runs")
        finally:
            job.stop()
    assert [r.levelname for r in caplog.records if r.levelno >= logging.ERROR] == ["CRITICAL"]


def test_gateways_are_not_called_silent_for_heartbeats_the_outage_swallowed(
    centre: Centre,
) -> None:
    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    with centre.sessions.begin() as session:
        session.add(
            Gateway(
                id="gw-1",
                home_id="home-1",
                state="online",
                last_seen_at=now - timedelta(minutes=10),  # the store was down since
                heartbeat_interval_s=60,
            )
        )
    with centre.sessions.begin() as session:
        assert overdue(session, now, heard_from=now - timedelta(seconds=30)) == []
    with centre.sessions.begin() as session:
        assert [g.id for g in overdue(session, now, heard_from=now - timedelta(minutes=3))] == [
            "gw-1"
        ]


def test_health_and_metrics_show_a_failing_store(tmp_path: Path) -> None:
    settings = ServerSettings(data_dir=tmp_path, mqtt_enabled=False, admin_password=PASSWORD)
    with TestClient(create_app(settings)) as client:
        centre: Centre = client.app.state.centre  # type: ignore[attr-defined]
        assert client.get("/api/health").json()["store"] == "up"
        # PostgreSQL's own words name its host, address, port and user: not for anyone who
        # can reach the unauthenticated health check, only for the operators' live stream.
        said = 'connection to server at "db-1.internal" (10.2.3.4), port 5432 failed'
        centre.store_health.failed(
            OperationalError("INSERT", {}, sqlite3.OperationalError(said)), "ingest"
        )
        answer = client.get("/api/health")
        health = answer.json()
        assert (health["status"], health["store"]) == ("degraded", "failing")
        assert health["store_fault"]["where"] == "ingest"
        assert "10.2.3.4" not in answer.text
        assert "db-1.internal" not in answer.text
        assert health["store_refused_writes"] == 1
        got = samples(client.get("/api/metrics", headers=login(client)).text)
        assert got[("eldercare_store_failing", ())] == 1
        assert got[("eldercare_store_refused_writes_total", ())] == 1


class Deadlock(sqlite3.OperationalError):
    """What psycopg raises when PostgreSQL breaks a deadlock: a driver error, SQLSTATE 40P01."""

    sqlstate = "40P01"


class Conflicts:
    """Makes the next ``count`` alarm inserts on ``engine`` fail as the deadlock's victim."""

    def __init__(self, engine: Engine, count: int) -> None:
        self.left = count
        event.listen(engine, "before_cursor_execute", self._refuse)

    def _refuse(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.left and statement.lstrip().upper().startswith("INSERT INTO ALARMS"):
            self.left -= 1
            raise Deadlock("deadlock detected")


def test_a_transaction_rolled_back_for_a_conflict_is_run_again_not_a_store_fault(
    rig: tuple[Centre, BrokerLink, StoreHealth, RecordingHub, Outage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two server processes on one PostgreSQL deadlock now and then; PostgreSQL rolls one back
    and the cure is to run it again: no CRITICAL "the database refuses writes" for that."""
    centre, link, health, hub, _outage = rig
    conflicts = Conflicts(centre.engine, 2)
    deadlock = OperationalError("INSERT", {}, Deadlock("deadlock detected"))
    assert not is_store_fault(deadlock)
    payload = encode(alarm_message("gw-1", frame_seq=1))
    with caplog.at_level(logging.INFO):
        out = link._handler.handle(TOPIC, payload)
    assert conflicts.left == 0  # two rolled back, the third run went through
    assert out.committed
    assert len(out.publish) == 1  # the receipt
    assert health.fault is None
    assert hub.sent == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    with centre.sessions() as session:
        assert len(session.scalars(select(Alarm.id).where(Alarm.gateway_id == "gw-1")).all()) == 1


def test_an_instance_name_no_device_id_can_hold_is_refused_at_start(tmp_path: Path) -> None:
    """The store-fault alarm names its server ``server-<instance>`` as its device. With a name
    that is no device id ("centre 1") building that alarm raised, on the ingest lane that
    saw the database answer again, outside its guard: the lane's thread died, and with it the
    centre's intake of alarms. Refused when the settings are read, with the reason."""
    with pytest.raises(ValidationError, match="instance"):
        ServerSettings(data_dir=tmp_path, admin_password=PASSWORD, instance="centre 1")
    for name in ("1", "eu-west.2", "eldercare-server-7d9f8b7c6-x2x9z"):
        settings = ServerSettings(data_dir=tmp_path, admin_password=PASSWORD, instance=name)
        fault = StoreFault(datetime.now(UTC), "database is locked", "ingest")
        server_fault_alarm(settings.instance, fault, datetime.now(UTC), 1)  # builds


def test_recording_the_episode_cannot_take_the_ingest_lane_or_the_receipt_with_it(
    rig: tuple[Centre, BrokerLink, StoreHealth, RecordingHub, Outage],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What the lane does after a message is stored ran outside its guard: a fault in
    recording the store's episode left the lane's thread (the centre's only alarm intake) and
    the alarm without its receipt. The receipt goes all the same; the fault is logged."""
    _, link, health, _, _ = rig
    delivered: list[Any] = []

    def broken() -> None:
        raise RuntimeError("recording the episode failed")

    monkeypatch.setattr(health, "answered", broken)
    monkeypatch.setattr(link, "deliver", lambda out, *, urgent: delivered.append(out))
    ingest(link, encode(alarm_message("gw-1", frame_seq=1)))  # must not raise
    [out] = delivered
    assert [topic for topic, _ in out.publish] == ["eldercare/v1/gw-1/down/receipt"]
    assert "recording the episode failed" in caplog.text
