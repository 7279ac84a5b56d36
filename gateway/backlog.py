"""Telemetry kept on disk while the centre cannot be reached, within a byte quota.

Alarms never come here: they live in the outbox (:mod:`gateway.outbox`) until the centre's
receipt, whatever the outage costs. Telemetry and device events may be thinned, so an outage
fills this backlog up to ``GATEWAY_TELEMETRY_QUOTA_BYTES`` and then drops the *oldest* rows
for new ones (a chart needs the present more than the start of a long outage). After a
reconnect the uplink drains it a small window at a time, behind the alarms
(:class:`gateway.uplink.Uplink`).

SQLite in WAL mode with ``synchronous=NORMAL``: a power cut may cost the last few points,
which is what telemetry may lose; the file survives a gateway restart.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway import OutboxError

log = logging.getLogger(__name__)

_TOTALS = "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM backlog"
_TABLE = """
CREATE TABLE IF NOT EXISTS backlog (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    payload BLOB NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Kept:
    seq: int
    channel: str
    payload: bytes


class TelemetryBacklog:
    """A bounded FIFO of thinnable messages on disk; thread-safe."""

    def __init__(self, path: Path, quota_bytes: int) -> None:
        if quota_bytes < 0:
            raise ValueError("quota_bytes must not be negative")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.quota_bytes = quota_bytes
        self.thinned = 0  # messages dropped, oldest first, to stay within the quota
        self._lock = threading.Lock()
        self._thinning = False  # one log line per episode, not one per dropped point
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_TABLE)
            self._depth, self._bytes = (int(v) for v in self._db.execute(_TOTALS).fetchone())
        except sqlite3.Error as err:
            raise OutboxError(f"cannot open telemetry backlog {path}: {err}") from err

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def keep(self, channel: str, payload: bytes) -> None:
        """Store one message; drop the oldest ones while the quota would be exceeded."""
        size = len(payload)
        with self._lock:
            if size > self.quota_bytes:
                self._count_thinned(1)
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                while self._bytes + size > self.quota_bytes:
                    self._drop_oldest()
                self._db.execute(
                    "INSERT INTO backlog (channel, payload) VALUES (?, ?)", (channel, payload)
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback()
                raise OutboxError(f"telemetry backlog write failed: {err}") from err
            self._depth += 1
            self._bytes += size

    def _drop_oldest(self) -> None:
        # Called in the write transaction; the running totals follow what it deletes.
        row = self._db.execute(
            "SELECT seq, LENGTH(payload) FROM backlog ORDER BY seq LIMIT 1"
        ).fetchone()
        if row is None:  # the totals drifted (cannot happen); resynchronise them
            self._depth = self._bytes = 0
            return
        self._db.execute("DELETE FROM backlog WHERE seq = ?", (row[0],))
        self._depth -= 1
        self._bytes -= int(row[1])
        self._count_thinned(1)

    def _count_thinned(self, count: int) -> None:
        self.thinned += count
        if not self._thinning:
            self._thinning = True
            log.warning(
                "telemetry backlog full (%d bytes): dropping the oldest telemetry, never alarms",
                self.quota_bytes,
            )

    def oldest(self, limit: int) -> list[Kept]:
        """The oldest ``limit`` messages, to send; remove them with :meth:`sent_many` once sent."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT seq, channel, payload FROM backlog ORDER BY seq LIMIT ?", (limit,)
                ).fetchall()
            except sqlite3.Error as err:
                raise OutboxError(f"telemetry backlog read failed: {err}") from err
        return [Kept(int(seq), str(channel), bytes(payload)) for seq, channel, payload in rows]

    def sent(self, kept: Kept) -> None:
        """``kept`` reached the broker: remove it."""
        self.sent_many((kept,))

    def sent_many(self, kept: Sequence[Kept]) -> None:
        """All of ``kept`` reached the broker: remove them in one transaction, so draining a
        backlog of thousands costs one commit per window, not one (and its fsync) per row.
        A row already gone (thinned meanwhile) is not counted twice; a failed write removes
        none and leaves the totals as they are on disk."""
        if not kept:
            return
        with self._lock:
            gone = 0
            gone_bytes = 0
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for row in kept:
                    deleted = self._db.execute(
                        "DELETE FROM backlog WHERE seq = ?", (row.seq,)
                    ).rowcount
                    if deleted:
                        gone += 1
                        gone_bytes += len(row.payload)
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback()
                raise OutboxError(f"telemetry backlog write failed: {err}") from err
            self._depth -= gone
            self._bytes -= gone_bytes
            if self._depth == 0:
                self._thinning = False

    def _rollback(self) -> None:
        """Undo a failed write, and take the totals from what is really on disk again."""
        try:
            self._db.execute("ROLLBACK")
            self._depth, self._bytes = (int(v) for v in self._db.execute(_TOTALS).fetchone())
        except sqlite3.Error:
            log.debug("telemetry backlog unreadable after a failed write", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._db.close()
