"""A store fault in the alarm history once, however many server processes lived through it.

Every server process on one database meets the same outage, each from its own first refused
write to its own first answered one, and each records what it saw once writes work again
(:class:`server.store_health.StoreHealth`). One outage is one ``server_fault`` alarm for the
operators: a process that finds an unresolved one whose episode overlaps its own (within
:data:`EPISODE_GRACE`, since each process notices the start and the end at its next write)
adds its view to that alarm (the episode widened to cover both, the refused writes summed, a
history note naming the server) instead of raising another.

The look and the write are one transaction, serialised across processes: on PostgreSQL by a
transaction-scoped advisory lock, on SQLite (one process, several threads) by the database's
write lock, taken first by a write that changes nothing. The second process therefore sees the
first one's alarm and annotates it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from protocol import AlarmKind, AlarmMessage
from server.crud import lifecycle
from server.crud.alarms import get_alarm, ingest_alarm
from server.db.models import Alarm

# The gateway id of the centre's own alarms: a reserved broker account, never a gateway.
CENTRE_ID = "server"
# Episodes this close are one fault: a process notices the start and the end of an outage at
# its next write, a few seconds apart from another's (periodic jobs run every 2-5 s).
EPISODE_GRACE = timedelta(seconds=30)
# The ids of added episodes kept (to add each once): a store flapping for hours is one alarm.
EPISODES_KEPT = 50
_LOCK_KEY = 0x53465254  # any constant: "SFRT", server fault record


def record_episode(session: Session, message: AlarmMessage, now: datetime) -> tuple[str, Alarm]:
    """Store the episode ``message`` tells of, in ``session``'s transaction: as a new alarm
    (``"alarm.raised"``), added to the unresolved one of the same outage (``"alarm.note"``),
    or not at all if it is there already (``""``). Returns what to announce and the alarm."""
    _serialise(session)
    since, until = _since(message), message.gateway_time
    same = session.scalars(
        select(Alarm)
        .where(
            Alarm.gateway_id == CENTRE_ID,
            Alarm.kind == AlarmKind.SERVER_FAULT.value,
            Alarm.status != "resolved",
            Alarm.device_time <= until + EPISODE_GRACE,
            Alarm.gateway_time >= since - EPISODE_GRACE,
        )
        .order_by(Alarm.received_at)
        .limit(1)
    ).first()
    if same is None:
        ingest_alarm(session, message, now)
        return "alarm.raised", get_alarm(session, message.id)
    if same.id == message.id or message.id in _seen(same):
        return "", same  # recorded before (an answer raced this one)
    _add_view(session, same, message, now)
    return "alarm.note", same


def _serialise(session: Session) -> None:
    """Wait for any other recording of a store fault to commit (see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        return
    # SQLite takes its write lock at the first write of a transaction, even one matching no row.
    session.execute(update(Alarm).where(Alarm.id == "").values(kind=Alarm.kind))


def _since(message: AlarmMessage) -> datetime:
    return message.device_time or message.gateway_time


def _seen(alarm: Alarm) -> list[str]:
    """The episodes added to ``alarm`` (the message's ids, space-separated: a wire detail
    holds scalars only)."""
    episodes = str(alarm.message["body"]["detail"].get("episodes", ""))
    return episodes.split()


def _add_view(session: Session, alarm: Alarm, message: AlarmMessage, now: datetime) -> None:
    """Widen ``alarm``'s episode to cover ``message``'s, sum the refused writes, name the
    server, and say so in the alarm's history."""
    mine: dict[str, Any] = message.body.detail
    record: dict[str, Any] = dict(alarm.message)
    body = dict(record["body"])
    detail = dict(body["detail"])
    since = min(alarm.device_time or alarm.gateway_time, _since(message))
    until = max(alarm.gateway_time, message.gateway_time)
    detail["refused_writes"] = int(detail.get("refused_writes", 0)) + int(mine["refused_writes"])
    detail["lasted_s"] = round((until - since).total_seconds(), 1)
    servers = {*str(detail.get("servers", alarm.device_id)).split(","), str(mine["servers"])}
    detail["servers"] = ",".join(sorted(servers))
    detail["episodes"] = " ".join([*_seen(alarm), message.id][-EPISODES_KEPT:])
    body["detail"] = detail
    record["body"] = body
    alarm.message = record  # a new value: SQLAlchemy sees a JSON column change on assignment
    alarm.device_time, alarm.gateway_time = since, until
    server = message.device_id or CENTRE_ID
    lifecycle.record(
        session,
        alarm,
        "note",
        server,
        now,
        note=(
            f"{server} met the same store fault from {_since(message):%H:%M:%S} to "
            f"{message.gateway_time:%H:%M:%S} UTC ({mine['refused_writes']} writes refused)"
        ),
        detail={"episode": message.id, "where": mine["where"], "error": mine["error"]},
    )
    lifecycle.save(session)
