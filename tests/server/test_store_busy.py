"""A connection pool with nothing free in time is overload, not a store fault: counted, one
WARNING per busy spell, no banner, no degraded health, no server_fault alarm; a database that
fails meanwhile is still a fault."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from protocol import encode
from protocol.mqtt import BrokerEndpoint
from server.centre import Centre
from server.core.config import ServerSettings
from server.db.engine import session_factory
from server.db.models import Alarm
from server.ingest.broker import BrokerLink
from server.ingest.handler import UplinkHandler
from server.main import create_app
from server.store_health import StoreHealth, is_pool_timeout
from tests.factories import alarm_message
from tests.server.test_api import PASSWORD, login
from tests.server.test_metrics import samples
from tests.server.test_store_health import TOPIC, RecordingHub

ENDPOINT = BrokerEndpoint("127.0.0.1", 1, "server", "x")  # never connected
LOCKED = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))


@pytest.fixture
def one_connection(centre: Centre) -> Iterator[Engine]:
    """The centre's store behind a pool of one connection that waits 50 ms for it."""
    engine = create_engine(centre.engine.url, pool_size=1, max_overflow=0, pool_timeout=0.05)
    yield engine
    engine.dispose()


def _problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.levelname for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_busy_pool_is_counted_and_warned_once_per_spell_not_a_store_fault(
    centre: Centre, one_connection: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    hub = RecordingHub()
    sessions = session_factory(one_connection)
    health = StoreHealth("7", sessions, hub)  # type: ignore[arg-type]
    handler = UplinkHandler(sessions, centre.telemetry)
    link = BrokerLink(ENDPOINT, "7", handler, hub, health)  # type: ignore[arg-type]
    alarms = [encode(alarm_message("gw-1", frame_seq=n)) for n in range(3)]

    def ingest(payload: bytes) -> None:
        link._run(TOPIC, partial(handler.handle, TOPIC, payload), urgent=True)

    with caplog.at_level(logging.DEBUG, logger="server.store_health"):
        with one_connection.connect():  # the only connection, busy with other work
            for payload in alarms:
                ingest(payload)
                ingest(payload)
        assert health.pool_timeouts == 6
        assert health.fault is None
        assert hub.sent == []  # no banner for the consoles
        assert _problems(caplog) == ["WARNING"]
        assert "no database connection free in time" in caplog.records[0].getMessage()

        for payload in alarms:  # the gateway resends: now they are stored
            ingest(payload)
        with one_connection.connect():  # a second busy spell is warned of again
            ingest(alarms[0])
    assert _problems(caplog) == ["WARNING", "WARNING"]
    assert health.pool_timeouts == 7
    assert health.refused == 0
    with centre.sessions() as session:
        kinds = session.scalars(select(Alarm.kind)).all()
    assert kinds == ["emergency_call"] * 3  # no server_fault for a busy spell


def test_a_database_failing_during_a_busy_spell_is_still_a_fault(
    centre: Centre, caplog: pytest.LogCaptureFixture
) -> None:
    hub = RecordingHub()
    health = StoreHealth("7", centre.sessions, hub)  # type: ignore[arg-type]
    timeout = PoolTimeout("QueuePool limit of size 10 overflow 10 reached")
    assert is_pool_timeout(timeout)
    assert not is_pool_timeout(LOCKED)
    with caplog.at_level(logging.INFO):
        health.failed(timeout, "ingest")
        health.failed(LOCKED, "ingest")
        health.answered()
    assert _problems(caplog) == ["WARNING", "CRITICAL", "WARNING"]  # the last: alarm raised
    assert hub.sent == ["store.fault", "store.ok", "alarm.raised"]
    assert (health.refused, health.pool_timeouts) == (1, 1)


def test_health_stays_up_and_metrics_count_pool_timeouts(tmp_path: Path) -> None:
    settings = ServerSettings(data_dir=tmp_path, mqtt_enabled=False, admin_password=PASSWORD)
    with TestClient(create_app(settings)) as client:
        centre: Centre = client.app.state.centre  # type: ignore[attr-defined]
        centre.store_health.failed(PoolTimeout("QueuePool limit reached"), "ingest")
        health = client.get("/api/health").json()
        assert (health["status"], health["store"]) == ("ok", "up")
        got = samples(client.get("/api/metrics", headers=login(client)).text)
        assert got[("eldercare_store_pool_timeouts_total", ())] == 1
        assert got[("eldercare_store_failing", ())] == 0
