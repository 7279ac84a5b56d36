"""Whether the centre's SQL store takes writes: a store fault is an episode, not a flood.

When the database is down, locked or out of disk, ingest sends no receipt, so every gateway
keeps its alarms and resends them: nothing is lost. But the operators must know that the
centre is blind meanwhile, so the fault is made loud exactly once per episode:

- one CRITICAL log line when it starts, one INFO line when it clears (never one per message);
- a standing live event (``store.fault``) for every console, replayed to consoles that connect
  during the episode, and ``store.ok`` when it is over;
- ``/api/health`` and the metrics read :attr:`StoreHealth.fault`;
- once the database takes writes again, the episode is stored as a ``server_fault`` technical
  alarm (the centre's own account, gateway id ``server``, a name no gateway may have), so it is
  in the alarm history and an operator acknowledges it. Every server process on the database
  meets the same outage: the first to record it raises the alarm, the others add their view
  to it (:mod:`server.store_fault_record`), so one outage is one alarm.

Every part of the server that writes (the ingest lanes, the periodic jobs, the live relay)
reports here: :meth:`StoreHealth.failed` with what went wrong, :meth:`StoreHealth.answered`
after SQL did its job. Only faults of the store itself start an episode (connection refused
or lost, locked, disk full); a message the database refuses (a constraint, bad data) is that
message's problem and is logged where it happens.

A connection pool that has no connection free in time (SQLAlchemy's pool ``TimeoutError``) is
not a store fault: the database is fine, the centre is busy. Reported here all the same (no
message is to blame), it is counted (:attr:`StoreHealth.pool_timeouts`) and said in one
WARNING per busy spell, with no banner and no degraded health: a burst of load must not flap
"the database refuses writes". The write is not done, so no receipt goes and the gateway
resends, as in a fault.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exc
from sqlalchemy.orm import Session, sessionmaker

from protocol import AlarmBody, AlarmKind, AlarmMessage, Origin
from protocol.messages import DEFAULT_PRIORITY
from server import Conflict
from server.live import LiveHub
from server.live_relay import announce_change
from server.store_fault_record import CENTRE_ID, record_episode

log = logging.getLogger(__name__)
STANDING_KEY = "store"
_IDS = uuid.UUID("0b7c6a52-3f0e-4f5d-9a47-5d2f4c3e8b11")
_STORE_FAULTS = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


def is_transaction_conflict(err: BaseException) -> bool:
    """True for a transaction PostgreSQL rolled back because of another one (SQLSTATE class
    40: deadlock detected, serialization failure). Two server processes writing the same rows
    meet this now and then; the cure is to run the transaction again, and the store is fine."""
    code = getattr(getattr(err, "orig", None), "sqlstate", None)
    return isinstance(code, str) and code.startswith("40")


def is_store_fault(err: BaseException) -> bool:
    """True if ``err`` is the store's trouble rather than one statement refused: no message is
    to blame, so the caller reports it to :meth:`StoreHealth.failed` (which tells a busy pool,
    :func:`is_pool_timeout`, from a store that cannot be used)."""
    if is_transaction_conflict(err):
        return False
    if isinstance(err, _STORE_FAULTS):
        return True
    return isinstance(err, exc.DBAPIError) and err.connection_invalidated


def is_pool_timeout(err: BaseException) -> bool:
    """True when no pooled connection came free in time: every one is busy with other work.
    Overload of this process, not a database that refuses writes."""
    return isinstance(err, exc.TimeoutError)


@dataclass(frozen=True)
class StoreFault:
    since: datetime
    error: str  # the first error of the episode, one line
    where: str  # which part of the server met it first

    def event(self) -> dict[str, Any]:
        return {
            "type": "store.fault",
            "since": self.since.isoformat(),
            "error": self.error,
            "where": self.where,
        }


@dataclass(frozen=True)
class _Cleared:
    fault: StoreFault
    until: datetime
    refused: int  # writes refused during the episode


class StoreHealth:
    def __init__(
        self,
        instance: str,
        sessions: sessionmaker[Session],
        hub: LiveHub,
        *,
        via_database: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._instance = instance
        self._sessions = sessions
        self._hub = hub
        self._via_database = via_database
        self._clock = clock
        self._lock = threading.Lock()
        self._recording = threading.Lock()
        self.fault: StoreFault | None = None
        self.recovered_at: datetime | None = None  # when the last episode ended
        self.refused = 0  # writes refused since start, all episodes
        self.pool_timeouts = 0  # writes not done for want of a free connection, since start
        self._busy = False  # a pool timeout since the last answer: WARNING said already
        self._episode_refused = 0
        self._unrecorded: list[_Cleared] = []  # over, not yet in SQL

    def failed(self, err: BaseException, where: str) -> None:
        """A write failed because of the store; the first one starts an episode. A pool
        timeout is counted as overload instead (:meth:`_busy_pool`)."""
        if is_pool_timeout(err):
            self._busy_pool(err, where)
            return
        with self._lock:
            self.refused += 1
            self._episode_refused += 1
            if self.fault is not None:
                log.debug("store still failing (%s): %s", where, _one_line(err))
                return
            fault = StoreFault(self._now(), _one_line(err), where)
            self.fault = fault
            self._episode_refused = 1
        log.critical(
            "the database refuses writes (%s, first in %s): incoming alarms are NOT stored; "
            "gateways keep them and resend until it is back",
            fault.error,
            where,
        )
        self._hub.hold(STANDING_KEY, fault.event())

    def _busy_pool(self, err: BaseException, where: str) -> None:
        """No connection free in time: counted, one WARNING until SQL answers again."""
        with self._lock:
            self.pool_timeouts += 1
            first, self._busy = not self._busy, True
        if first:
            log.warning(
                "no database connection free in time (%s, first in %s): the centre is busy; "
                "the write waits for the gateway's resend",
                _one_line(err),
                where,
            )
        else:
            log.debug("database connections still busy (%s)", where)

    def answered(self) -> None:
        """SQL did its job: an episode in progress is over, and recorded as soon as it can be;
        a busy spell of the pool is over too."""
        if self.fault is None and not self._unrecorded and not self._busy:
            return  # the common case, without taking a lock
        with self._lock:
            self._busy = False
            fault, self.fault = self.fault, None
            if fault is not None:
                cleared = _Cleared(fault, self._now(), self._episode_refused)
                self._unrecorded.append(cleared)
                self.recovered_at = cleared.until
        if fault is not None:
            log.info(
                "the database takes writes again after %.0f s (%d writes refused meanwhile)",
                (cleared.until - fault.since).total_seconds(),
                cleared.refused,
            )
            self._hub.release(STANDING_KEY, {"type": "store.ok"})
        self._record()

    def _record(self) -> None:
        """Store each episode that is over as a ``server_fault`` alarm; one thread at a time,
        and an episode that cannot be stored yet is tried again on the next answer."""
        if not self._recording.acquire(blocking=False):
            return
        try:
            while self._unrecorded:
                cleared = self._unrecorded[0]
                try:
                    self._store(cleared)
                except (exc.SQLAlchemyError, Conflict) as err:
                    # Conflict: an operator changed the alarm it joins meanwhile; next answer.
                    log.warning("the store fault is not recorded yet: %s", _one_line(err))
                    return
                self._unrecorded.pop(0)
        finally:
            self._recording.release()

    def _store(self, cleared: _Cleared) -> None:
        message = server_fault_alarm(self._instance, cleared.fault, cleared.until, cleared.refused)
        with self._sessions.begin() as session:
            change, alarm = record_episode(session, message, cleared.until)
            if not change:
                return  # recorded before (an answer raced this one)
            announced = announce_change(session, change, alarm, via_database=self._via_database)
        lasted = (cleared.until - cleared.fault.since).total_seconds()
        if change == "alarm.raised":
            log.warning("alarm %s raised: the store failed for %.0f s", alarm.id, lasted)
        else:
            log.info("store fault of %.0f s added to alarm %s, the same outage's", lasted, alarm.id)
        if announced is not None:
            self._hub.publish(announced)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def server_fault_alarm(
    instance: str, fault: StoreFault, until: datetime, refused: int
) -> AlarmMessage:
    """The record of one episode; its id comes from the server process and the episode's start,
    so recording it twice stores it once."""
    kind = AlarmKind.SERVER_FAULT
    return AlarmMessage(
        id=uuid.uuid5(_IDS, f"{instance}/{fault.since.isoformat()}").hex,
        gateway_id=CENTRE_ID,
        device_id=f"server-{instance}",
        device_time=fault.since,
        gateway_time=until,
        body=AlarmBody(
            kind=kind,
            priority=DEFAULT_PRIORITY[kind],
            home_id="centre",
            origin=Origin(transport="gateway", device_kind="server"),
            detail={
                "reason": "store_unavailable",
                "error": fault.error[:200],
                "where": fault.where,
                "refused_writes": refused,
                "lasted_s": round((until - fault.since).total_seconds(), 1),
                "servers": f"server-{instance}",  # those that met it, comma-separated
            },
        ),
    )


def _one_line(err: BaseException) -> str:
    """The database's own words, without SQLAlchemy's statement dump and background link."""
    text = str(getattr(err, "orig", None) or err).strip()
    return (text.splitlines() or [type(err).__name__])[0][:300]
