"""The durable outbox: an alarm is committed here before anything else happens to it.

SQLite in WAL mode with ``synchronous=FULL``: once :meth:`Outbox.add` returns, the alarm
survives a power cut. A message leaves the pending set only when the server's receipt names
it; delivered rows stay a while so that retransmitted presses and the operator's answer can
still be matched to the device that raised them.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway import OutboxError

_TABLE = """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    delivered_at REAL,
    device_id TEXT,
    frame_seq INTEGER
)
"""
# Columns added after the first release; an existing outbox file gets them on open.
_ADDED_COLUMNS = {"occurred_at": "REAL", "held_until": "REAL", "cancelled_at": "REAL"}
_INDEXES = """
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_press ON outbox (device_id, frame_seq, occurred_at);
"""
# Still to be sent: neither confirmed by the centre nor withdrawn. A constant, spliced into SQL.
_PENDING = "delivered_at IS NULL AND cancelled_at IS NULL"
# The furthest ahead the gateway ever schedules an attempt: a resend (at most 60 s, with
# jitter) or a held fall (a cancel window of at most 300 s), with room to spare.
MAX_SCHEDULE_S = 600.0


_COLUMNS = "id, channel, payload, created_at, attempts, delivered_at, device_id, frame_seq"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: str
    channel: str
    payload: bytes
    created_at: float
    attempts: int
    delivered_at: float | None
    device_id: str | None
    frame_seq: int | None


class OutboxObserver(Protocol):
    """Told after a write commits. Every alarm, whichever detector raised it, is committed
    here first, so this is the one place to watch an alarm's life (e.g. for Home Assistant).
    Called on the writer's thread (the gateway's event loop): must return at once."""

    def stored(
        self, message_id: str, channel: str, payload: bytes, hold_until: float | None
    ) -> None: ...

    def released(self, message_id: str) -> None: ...

    def cancelled(self, message_id: str) -> None: ...

    def confirmed(self, message_id: str) -> None: ...


class Outbox:
    """Thread-safe; every write is its own committed transaction."""

    def __init__(self, path: Path, *, observer: OutboxObserver | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._observer = observer
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_TABLE)
            present = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in present:
                    self._db.execute(f"ALTER TABLE outbox ADD COLUMN {column} {kind}")
            self._db.executescript(_INDEXES)
        except sqlite3.Error as err:
            raise OutboxError(f"cannot open outbox {path}: {err}") from err

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple[object, ...]) -> int:
        with self._lock:
            try:
                return self._db.execute(sql, args).rowcount
            except sqlite3.Error as err:
                raise OutboxError(f"outbox write failed: {err}") from err

    def add(
        self,
        message_id: str,
        channel: str,
        payload: bytes,
        now: float,
        *,
        device_id: str | None = None,
        frame_seq: int | None = None,
        occurred_at: float | None = None,
        hold_until: float | None = None,
    ) -> None:
        """Persist a message. ``hold_until``: stored now, sent only from then on, unless
        :meth:`cancel` withdraws it first (a possible fall the resident may still cancel)."""
        self._write(
            "INSERT INTO outbox (id, channel, payload, created_at, next_attempt_at, device_id,"
            " frame_seq, occurred_at, held_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message_id,
                channel,
                payload,
                now,
                hold_until or now,
                device_id,
                frame_seq,
                occurred_at,
                hold_until,
            ),
        )
        if self._observer is not None:
            self._observer.stored(message_id, channel, payload, hold_until)

    def release(self, message_id: str, now: float) -> None:
        """End a hold early: the message is due now (a radar became certain of a fall)."""
        changed = self._write(
            f"UPDATE outbox SET next_attempt_at = ?, held_until = NULL WHERE id = ? AND {_PENDING}",  # noqa: S608
            (now, message_id),
        )
        if changed == 1 and self._observer is not None:
            self._observer.released(message_id)

    def cancel(self, message_id: str, now: float) -> bool:
        """Withdraw a message that was never sent; False if it already went out (or is gone)."""
        changed = self._write(
            f"UPDATE outbox SET cancelled_at = ? WHERE id = ? AND {_PENDING} AND attempts = 0",  # noqa: S608
            (now, message_id),
        )
        if changed == 1 and self._observer is not None:
            self._observer.cancelled(message_id)
        return changed == 1

    def due(self, now: float, limit: int = 100) -> list[OutboxItem]:
        """Pending messages whose next attempt is due, in the order they were stored.

        Robust to the wall clock jumping (an NTP correction, a clock set by hand): the order
        is the insertion order, never the clock's; and an attempt scheduled further ahead
        than the gateway ever schedules one (``MAX_SCHEDULE_S``) means the clock went back,
        so it is due now rather than hours from now.
        """
        return self._select(
            f"WHERE {_PENDING} AND (next_attempt_at <= ? OR next_attempt_at > ?)"
            " ORDER BY rowid LIMIT ?",
            (now, now + MAX_SCHEDULE_S, limit),
        )

    def next_due_at(self) -> float | None:
        sql = f"SELECT MIN(next_attempt_at) FROM outbox WHERE {_PENDING}"  # noqa: S608
        row = self._read(sql, ())
        return None if row[0][0] is None else float(row[0][0])

    def attempted(self, message_id: str, next_attempt_at: float) -> None:
        self._write(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?",
            (next_attempt_at, message_id),
        )

    def retry_all_now(self, now: float) -> None:
        """After a reconnect: everything pending is due at once (oldest goes first)."""
        # A held message stays held: a reconnect must not cut the resident's cancel window.
        self._write(
            f"UPDATE outbox SET next_attempt_at = MAX(?, COALESCE(held_until, 0)) WHERE {_PENDING}",  # noqa: S608
            (now,),
        )

    def confirm(self, message_id: str, now: float) -> bool:
        """Record the server's receipt; True the first time, False for a repeated receipt."""
        changed = self._write(
            "UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
            (now, message_id),
        )
        if changed == 1 and self._observer is not None:
            self._observer.confirmed(message_id)
        return changed == 1

    def holds(self, now: float) -> list[tuple[OutboxItem, float]]:
        """Messages still held at ``now`` (a possible fall's cancel window is open), with the
        end of each hold, in the order they were stored: what a restarted gateway must keep
        cancellable. A hold that has ended is not listed; :meth:`due` sends it."""
        sql = (
            f"SELECT {_COLUMNS}, held_until FROM outbox WHERE {_PENDING}"  # noqa: S608
            " AND held_until > ? ORDER BY rowid"
        )
        return [(OutboxItem(*row[:-1]), float(row[-1])) for row in self._read(sql, (now,))]

    def get(self, message_id: str) -> OutboxItem | None:
        rows = self._select("WHERE id = ?", (message_id,))
        return rows[0] if rows else None

    def find_press(
        self,
        device_id: str,
        frame_seq: int,
        occurred_at: float,
        *,
        tolerance_s: float,
    ) -> OutboxItem | None:
        """The alarm already raised for this press, if the device is retransmitting it.

        The sequence number alone is not enough: a device that restarts counts from 1 again,
        and a new press must never be swallowed as a repeat. A retransmission reports the same
        moment of pressing (receive time minus its growing ``age_ms``); a new press does not.
        """
        rows = self._select(
            "WHERE device_id = ? AND frame_seq = ? AND occurred_at BETWEEN ? AND ?"
            " ORDER BY created_at DESC LIMIT 1",
            (device_id, frame_seq, occurred_at - tolerance_s, occurred_at + tolerance_s),
        )
        return rows[0] if rows else None

    def depth(self) -> int:
        sql = f"SELECT COUNT(*) FROM outbox WHERE {_PENDING}"  # noqa: S608 - constants only
        return int(self._read(sql, ())[0][0])

    def backlog(self) -> dict[str, tuple[int, float]]:
        """Per channel: how many messages wait for the centre, and when the oldest was made."""
        sql = (
            f"SELECT channel, COUNT(*), MIN(created_at) FROM outbox WHERE {_PENDING}"  # noqa: S608
            " GROUP BY channel"
        )
        return {row[0]: (int(row[1]), float(row[2])) for row in self._read(sql, ())}

    def prune(self, delivered_before: float) -> int:
        return self._write(
            "DELETE FROM outbox WHERE delivered_at < ? OR cancelled_at < ?",
            (delivered_before, delivered_before),
        )

    def _select(self, where: str, args: tuple[object, ...]) -> list[OutboxItem]:
        # ``where`` is always one of this class's constant clauses; values go in ``args``.
        rows = self._read(f"SELECT {_COLUMNS} FROM outbox {where}", args)  # noqa: S608
        return [OutboxItem(*row) for row in rows]

    def _read(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as err:
                raise OutboxError(f"outbox read failed: {err}") from err
