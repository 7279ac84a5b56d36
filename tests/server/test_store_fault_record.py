"""One store outage is one server_fault alarm, however many server processes met it: two
StoreHealth instances (two processes' views) on one database, SQLite and PostgreSQL, in turn
and racing; the second adds its view to the first one's alarm."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from server.centre import Centre
from server.crud import lifecycle
from server.db.models import Alarm
from server.store_fault_record import CENTRE_ID, EPISODE_GRACE, record_episode
from server.store_health import StoreFault, StoreHealth, server_fault_alarm
from tests.server.test_store_health import RecordingHub

T0 = datetime(2026, 11, 22, 3, 0, tzinfo=UTC).timestamp()
DOWN = OperationalError("INSERT", {}, sqlite3.OperationalError("connection refused"))


class Server:
    """One server process's StoreHealth, with its own clock and hub."""

    def __init__(self, centre: Centre, instance: str) -> None:
        self.now = T0
        self.hub = RecordingHub()
        self.health = StoreHealth(
            instance,
            centre.sessions,
            self.hub,  # type: ignore[arg-type]
            clock=lambda: self.now,
        )

    def outage(self, start_s: float, end_s: float, refused: int) -> None:
        """Met the outage from ``start_s`` to ``end_s`` after T0, ``refused`` writes in it."""
        self.now = T0 + start_s
        for _ in range(refused):
            self.health.failed(DOWN, "ingest")
        self.now = T0 + end_s

    def back(self) -> None:
        self.health.answered()


def _faults(centre: Centre) -> list[Alarm]:
    with centre.sessions() as session:
        query = select(Alarm).where(Alarm.gateway_id == CENTRE_ID).order_by(Alarm.received_at)
        return list(session.scalars(query))


def _notes(centre: Centre, alarm_id: str) -> list[tuple[str, str]]:
    with centre.sessions() as session:
        return [(a.actor, a.action) for a in lifecycle.history(session, alarm_id)]


def test_the_second_process_adds_its_view_to_the_first_ones_alarm(store_centre: Centre) -> None:
    first, second = Server(store_centre, "1"), Server(store_centre, "2")
    first.outage(0, 60, refused=3)
    second.outage(4, 58, refused=5)  # noticed later, saw it end earlier
    first.back()
    second.back()

    [fault] = _faults(store_centre)
    detail = fault.message["body"]["detail"]
    assert fault.device_id == "server-1"
    assert detail["servers"] == "server-1,server-2"
    assert detail["refused_writes"] == 8
    assert detail["lasted_s"] == 60
    assert fault.device_time == datetime.fromtimestamp(T0, UTC)
    assert fault.gateway_time == datetime.fromtimestamp(T0 + 60, UTC)
    assert sorted(_notes(store_centre, fault.id)) == [
        ("gateway:server", "raised"),
        ("server-2", "note"),
    ]
    assert first.hub.sent[-1] == "alarm.raised"
    assert second.hub.sent[-1] == "alarm.note"  # consoles refresh the alarm, no new cue

    # The second's record offered again (an answer raced its recording): added once.
    since = datetime.fromtimestamp(T0 + 4, UTC)
    again = server_fault_alarm("2", StoreFault(since, "refused", "ingest"), since, 5)
    with store_centre.sessions.begin() as session:
        change, alarm = record_episode(session, again, since)
    assert (change, alarm.id) == ("", fault.id)
    assert len(_notes(store_centre, fault.id)) == 2
    assert len(_faults(store_centre)) == 1


def test_episodes_apart_or_after_the_alarm_was_resolved_are_alarms_of_their_own(
    store_centre: Centre,
) -> None:
    first, second = Server(store_centre, "1"), Server(store_centre, "2")
    first.outage(0, 10, refused=1)
    first.back()
    gap = EPISODE_GRACE.total_seconds() + 1
    second.outage(10 + gap, 20 + gap, refused=1)  # a second outage, not the same one
    second.back()
    assert [f.device_id for f in _faults(store_centre)] == ["server-1", "server-2"]

    with store_centre.sessions.begin() as session:
        for alarm in session.scalars(select(Alarm).where(Alarm.gateway_id == CENTRE_ID)):
            alarm.status = "resolved"
    first.outage(25 + gap, 30 + gap, refused=1)  # overlaps, but an operator closed that one
    first.back()
    assert len(_faults(store_centre)) == 3


def test_two_processes_recording_at_once_store_one_alarm(store_centre: Centre) -> None:
    """Each holds back its INSERT until the other reaches its own (or a second passes): with
    the look and the write not serialised both would insert, each having found nothing."""
    both_inserting = threading.Barrier(2)

    def hold(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ALARMS"):
            # Broken: the other is waiting for this transaction, as it should.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_inserting.wait(timeout=1.0)

    event.listen(store_centre.engine, "before_cursor_execute", hold)
    servers = [Server(store_centre, "1"), Server(store_centre, "2")]
    for server in servers:
        server.outage(0, 30, refused=2)
    threads = [threading.Thread(target=server.back) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    event.remove(store_centre.engine, "before_cursor_execute", hold)

    [fault] = _faults(store_centre)
    assert fault.message["body"]["detail"]["servers"] == "server-1,server-2"
    assert fault.message["body"]["detail"]["refused_writes"] == 4
    assert all(not server.health._unrecorded for server in servers)
