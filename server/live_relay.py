"""Live events across server processes, through PostgreSQL LISTEN/NOTIFY.

With several server processes behind one shared subscription, the process that stores an
alarm is often not the one an operator's console is connected to. So on PostgreSQL the storing
transaction itself issues ``NOTIFY`` (delivered only on commit: no console ever hears of an
alarm that is not stored), and every process ``LISTEN``s and feeds its own live hub, its own
events included. On SQLite (one process) events go straight to the hub after commit.

If the listening connection drops, notifications sent meanwhile are gone; the relay then
disconnects every live subscriber, whose consoles reconnect and re-read the alarm list.

An alarm's notification names the alarm, which each process reads back (a payload is limited
to 8,000 bytes); an event about anything else (a family member's away change) is small and
carries itself whole (:func:`announce_event`).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from server.api.schemas import live_event
from server.db.models import Alarm
from server.live import LiveHub

log = logging.getLogger(__name__)
CHANNEL = "eldercare_live"


def notify_in_transaction(session: Session, kind: str, alarm_id: str) -> None:
    """Queue a live event that PostgreSQL delivers to every listener when ``session`` commits."""
    payload = json.dumps({"type": kind, "alarm_id": alarm_id})
    session.execute(select(func.pg_notify(CHANNEL, payload)))


def announce_event(
    session: Session, event: dict[str, Any], *, via_database: bool
) -> dict[str, Any] | None:
    """Announce ``event`` (not an alarm's: it carries all it says), inside the transaction
    whose change it tells of; the return is as :func:`announce_change`'s."""
    if via_database:
        payload = json.dumps({"event": event}, separators=(",", ":"))
        session.execute(select(func.pg_notify(CHANNEL, payload)))
        return None
    return event


def announce_change(
    session: Session, kind: str, alarm: Alarm, *, via_database: bool
) -> dict[str, Any] | None:
    """Announce a change to ``alarm``, inside the transaction that makes it.

    Via the database (PostgreSQL): a NOTIFY that every server process hears on commit; returns
    None. Otherwise (one process): returns the event for this process's hub, to be published
    once the transaction has committed.
    """
    if via_database:
        notify_in_transaction(session, kind, alarm.id)
        return None
    return live_event(kind, alarm)


class PostgresLiveRelay:
    def __init__(self, sqlalchemy_url: str, sessions: sessionmaker[Session], hub: LiveHub) -> None:
        url = make_url(sqlalchemy_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._sessions = sessions
        self._hub = hub
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():  # a centre may be stopped without having started
            self._thread.join(timeout=5)

    def _run(self) -> None:
        lost = False  # one line per loss, not one per reconnect attempt while PostgreSQL is down
        try:
            while not self._stop.is_set():
                try:
                    self._listen()
                except psycopg.Error as err:
                    if self.listening.is_set() or not lost:
                        # Consoles resync when it is back (see _listen), so nothing is missed.
                        log.warning("live relay lost its PostgreSQL connection: %s", err)
                    else:
                        log.debug("live relay still cannot reach PostgreSQL: %s", err)
                    lost = True
                    self.listening.clear()
                    self._stop.wait(1.0)
        finally:
            self.listening.clear()  # health reports the relay down if this thread ever ends

    def _listen(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            # Anything committed before LISTEN took effect was not heard: every console
            # connected so far re-reads the list.
            self._hub.disconnect_all()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=1.0):
                    self._relay(note.payload)

    def _relay(self, payload: str) -> None:
        try:
            note = json.loads(payload)
            carried = note.get("event")
            if carried is not None:  # announce_event: the event itself
                if not isinstance(carried.get("type"), str):
                    raise ValueError("an event without a type")
                self._hub.publish(carried)
                return
            with self._sessions() as session:
                alarm = session.get(Alarm, note["alarm_id"])
                event = live_event(note["type"], alarm) if alarm is not None else None
        except (ValueError, KeyError, AttributeError) as err:
            log.error("unreadable live notification %r: %s", payload, err)
            return
        except Exception:
            # The store hiccuped: consoles may now miss this event, so make them resync.
            log.exception("could not load the alarm of live notification %r", payload)
            self._hub.disconnect_all()
            return
        if event is not None:
            self._hub.publish(event)
