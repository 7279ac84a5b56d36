"""Gateways that go silent: their last will, or heartbeats that stop, raise an alarm.

A gateway announces ``online`` with its heartbeat interval and, through its MQTT will,
``offline`` when its connection dies. The centre also checks: a gateway not heard for two
intervals is offline. Either way the home is unprotected, so an operator must know.

The alarm's id is derived from the gateway and the moment it was last heard, so several server
processes noticing the same silence store one alarm.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from protocol import AlarmBody, AlarmKind, AlarmMessage, Origin
from protocol.messages import DEFAULT_PRIORITY
from server.crud.alarms import get_alarm, ingest_alarm
from server.db.models import Alarm, Gateway
from server.periodic import PeriodicJob
from server.store_health import StoreHealth

log = logging.getLogger(__name__)
MISSES = 2
CHECK_EVERY_S = 5.0
_IDS = uuid.UUID("6f1d3c2e-8a4b-4f7e-9c55-2b0e6a1d7c90")

Announce = Callable[[Session, str, Alarm], Callable[[], None]]


def gateway_offline_alarm(gateway: Gateway, now: datetime) -> AlarmMessage:
    """The alarm for ``gateway`` having gone silent after ``gateway.last_seen_at``."""
    episode = f"{gateway.id}/{gateway.last_seen_at.isoformat()}"
    kind = AlarmKind.GATEWAY_OFFLINE
    return AlarmMessage(
        id=uuid.uuid5(_IDS, episode).hex,
        gateway_id=gateway.id,
        device_time=gateway.last_seen_at,
        gateway_time=now,
        body=AlarmBody(
            kind=kind,
            priority=DEFAULT_PRIORITY[kind],
            home_id=gateway.home_id,
            origin=Origin(transport="gateway", device_kind="gateway"),
        ),
    )


def raise_gateway_offline(
    session: Session, gateway: Gateway, now: datetime, announce: Announce
) -> Callable[[], None] | None:
    """Store the alarm (once per episode); returns what to run after commit, if it is new."""
    message = gateway_offline_alarm(gateway, now)
    if not ingest_alarm(session, message, now):
        return None
    log.warning(
        "gateway %s offline since %s: alarm %s", gateway.id, gateway.last_seen_at, message.id
    )
    return announce(session, "alarm.raised", get_alarm(session, message.id))


def overdue(session: Session, now: datetime, heard_from: datetime | None = None) -> list[Gateway]:
    """Mark online gateways not heard for ``MISSES`` intervals offline; return those.

    ``heard_from``: when the store last came back from a fault. Heartbeats that came while it
    was down could not be recorded, so no gateway counts as silent before it has had its full
    allowance since then (else an outage would end in a gateway_offline alarm for every home).
    """
    silent = []
    for gateway in session.scalars(select(Gateway).where(Gateway.state == "online")):
        last = gateway.last_seen_at if heard_from is None else max(gateway.last_seen_at, heard_from)
        if now - last > timedelta(seconds=MISSES * gateway.heartbeat_interval_s):
            # Conditional: of several server processes checking, one makes the change.
            changed = session.execute(
                update(Gateway)
                .where(
                    Gateway.id == gateway.id,
                    Gateway.state == "online",
                    Gateway.last_seen_at == gateway.last_seen_at,
                )
                .values(state="silent")
            )
            if changed.rowcount:  # type: ignore[attr-defined]
                silent.append(gateway)
    return silent


class GatewayWatch:
    """Checks every few seconds for gateways whose heartbeats stopped."""

    def __init__(
        self, sessions: sessionmaker[Session], announce: Announce, store: StoreHealth | None = None
    ) -> None:
        self._sessions = sessions
        self._announce = announce
        self._store = store
        self._periodic = PeriodicJob("gateway-watch", CHECK_EVERY_S, self.check, store)
        self.start = self._periodic.start
        self.stop = self._periodic.stop

    def check(self, now: datetime) -> int:
        raised = []
        store = self._store
        if store is not None and store.fault is not None:
            return 0  # heartbeats are not being recorded: silence cannot be told apart
        heard_from = None if store is None else store.recovered_at
        with self._sessions.begin() as session:
            for gateway in overdue(session, now, heard_from):
                after = raise_gateway_offline(session, gateway, now, self._announce)
                if after is not None:
                    raised.append(after)
        for after in raised:
            after()
        return len(raised)
