"""The embedded telemetry store: one SQLite file under the data directory, no server to run.

Good for one machine and the demo; a centre uses InfluxDB. Points keep the InfluxDB shape
(measurement, tags, fields, time) and the charts' queries answer exactly as InfluxDB's do
(epoch-aligned buckets, means of numeric fields, last value per device), so moving from one
to the other changes nothing upstream. Retention is a prune of points older than
``retention_days``, run by the batching writer's housekeeping; there is no downsampled copy,
so charts over older ranges are empty here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from server.telemetry import TelemetryWriteError
from server.telemetry.charts import LatestValue, SeriesPoint, SeriesQuery, bucket_start
from server.telemetry.point import TelemetryPoint, from_ns, to_ns

_DAY_NS = 86_400 * 10**9


def _field_path(field: str) -> str:
    """A SQLite JSON path to one key. SQLite has no escape for ``"`` inside a quoted key."""
    if '"' in field:
        raise ValueError(f"the embedded store cannot look up a field named {field!r}")
    return f'$."{field}"'


class EmbeddedTelemetryStore:
    """Telemetry in SQLite; safe to call from any thread (one connection behind a lock)."""

    def __init__(
        self,
        path: Path,
        *,
        retention_days: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.retention_days = retention_days
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS points (time_ns INTEGER NOT NULL, measurement TEXT NOT"
            " NULL, tags TEXT NOT NULL, fields TEXT NOT NULL)"
        )
        self._db.execute(
            "CREATE INDEX IF NOT EXISTS points_by_time ON points (measurement, time_ns)"
        )

    def prepare(self) -> None:
        """Nothing to set up beyond what the constructor did."""

    def encode(self, points: Sequence[TelemetryPoint]) -> None:
        """Nothing to make ahead: rows are made in `write_batch`, under the store's lock."""

    def write_batch(
        self,
        points: Sequence[TelemetryPoint],
        encoded: bytes | None = None,
        sent: Callable[[], object] | None = None,
    ) -> None:
        """Store ``points`` in one transaction; nothing is sent, so ``sent`` is never called."""
        rows = [
            (
                p.time_ns,
                p.measurement,
                json.dumps(dict(p.tags), sort_keys=True),
                json.dumps(dict(p.fields)),
            )
            for p in points
        ]
        with self._lock:
            try:
                self._db.execute("BEGIN")
                try:
                    self._db.executemany("INSERT INTO points VALUES (?, ?, ?, ?)", rows)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as err:
                # Locked or full disk: the same batch may go through later.
                raise TelemetryWriteError(f"telemetry not stored in SQLite: {err}") from err

    def housekeep(self) -> None:
        self.prune(from_ns(int(self._clock() * 1e9) - self.retention_days * _DAY_NS))

    def prune(self, older_than: datetime) -> int:
        """Delete points before ``older_than``; how many went."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM points WHERE time_ns < ?", (to_ns(older_than),))
        return cursor.rowcount

    def query(self, measurement: str) -> list[tuple[int, dict[str, str], dict[str, object]]]:
        """Every point of ``measurement`` as ``(time_ns, tags, fields)``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT time_ns, tags, fields FROM points WHERE measurement = ? ORDER BY time_ns",
                (measurement,),
            ).fetchall()
        return [(t, json.loads(tags), json.loads(fields)) for t, tags, fields in rows]

    def series(self, query: SeriesQuery) -> list[SeriesPoint]:
        """Means of a numeric field per epoch-aligned bucket, empty buckets left out."""
        path = _field_path(query.field)
        bucket_ns = query.bucket_s * 1_000_000_000
        with self._lock:
            rows = self._db.execute(
                "SELECT time_ns / ? AS bucket, avg(json_extract(fields, ?)) FROM points"
                " WHERE measurement = ? AND time_ns >= ? AND time_ns < ?"
                " AND json_extract(tags, '$.gateway_id') = ?"
                " AND coalesce(json_extract(tags, '$.device_id'), '') = ?"
                " AND json_type(fields, ?) IN ('integer', 'real')"
                " GROUP BY bucket ORDER BY bucket",
                (
                    bucket_ns,
                    path,
                    query.measurement,
                    query.start_ns,
                    query.end_ns,
                    query.gateway_id,
                    query.device_id or "",
                    path,
                ),
            ).fetchall()
        return [SeriesPoint(bucket_start(b * bucket_ns, query.bucket_s), float(m)) for b, m in rows]

    def latest(
        self, measurement: str, field: str, gateway_id: str | None = None
    ) -> list[LatestValue]:
        """The last value of ``field`` per device, with the type it was written with."""
        path = _field_path(field)
        # SQLite takes the bare columns of a max() aggregate from the row holding the maximum.
        sql = (
            "SELECT json_extract(tags, '$.gateway_id') AS gw, json_extract(tags, '$.device_id')"
            " AS dev, max(time_ns), fields FROM points WHERE measurement = ?"
            " AND json_type(fields, ?) IS NOT NULL AND gw IS NOT NULL"
        )
        args: list[object] = [measurement, path]
        if gateway_id is not None:
            sql += " AND gw = ?"
            args.append(gateway_id)
        sql += " GROUP BY gw, dev ORDER BY gw, coalesce(dev, '')"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [
            LatestValue(gw, dev or None, from_ns(t), json.loads(fields)[field])
            for gw, dev, t, fields in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()
