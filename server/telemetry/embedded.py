"""The embedded telemetry store: one SQLite file under the data directory, no server to run.

Good for one machine and the demo; a centre uses InfluxDB. Points keep the InfluxDB shape
(measurement, tags, fields, time) so moving from one to the other changes nothing upstream.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path


class EmbeddedTelemetryStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
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

    def write(
        self,
        measurement: str,
        tags: dict[str, str],
        fields: dict[str, float | int | bool | str],
        time: datetime,
    ) -> None:
        time_ns = int(time.timestamp() * 1e9)
        with self._lock:
            self._db.execute(
                "INSERT INTO points VALUES (?, ?, ?, ?)",
                (time_ns, measurement, json.dumps(tags, sort_keys=True), json.dumps(fields)),
            )

    def query(self, measurement: str) -> list[tuple[int, dict[str, str], dict[str, object]]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT time_ns, tags, fields FROM points WHERE measurement = ? ORDER BY time_ns",
                (measurement,),
            ).fetchall()
        return [(t, json.loads(tags), json.loads(fields)) for t, tags, fields in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
