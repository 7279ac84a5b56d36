"""The InfluxDB telemetry store for a centre, spoken over InfluxDB's v1 HTTP API.

Why the v1 API: it is the one API every InfluxDB generation serves. 1.x (Debian ships 1.6)
has nothing else; 2.x and 3.x keep ``POST /write`` and ``POST /query`` as a compatibility
layer. So the same store runs against whichever server a centre operates, and the tests run on
a real 1.6 ``influxd``. Line protocol is built by ``influxdb_client.Point``, whose escaping of
spaces, commas and ``=`` is maintained upstream; we only send it with ``httpx``.

The server is not contacted when the store is built: a centre must start (and take alarms)
while InfluxDB is briefly down. The database is created when a write first finds it missing
(``404 database not found``), not up front: 1.x creates it with ``CREATE DATABASE``, which is
idempotent, while 2.x/3.x map databases to buckets themselves and may refuse the statement.

Exception tree (both under ``server.ServerError``)::

    ServerError
     ├── TelemetryWriteError   a point was not stored; ``retryable`` says whether to try again
     └── TelemetryQueryError   InfluxDB refused or failed an InfluxQL query
"""

from __future__ import annotations

import math
import threading
from datetime import datetime
from typing import Any

import httpx
from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from server.telemetry import TelemetryQueryError, TelemetryWriteError

FieldValue = float | int | bool | str

# Statuses after which the same request may succeed later: the server is overloaded,
# restarting, or behind a proxy that could not reach it. Anything else in 4xx is about the
# request itself (type conflict, bad name, bad credentials) and fails again unchanged.
_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class InfluxTelemetryStore:
    """Writes telemetry points to one InfluxDB database; safe to call from any thread.

    Parameters
    ----------
    url
        Base URL of the InfluxDB HTTP API, e.g. ``http://127.0.0.1:8086``.
    database
        Database name (on 2.x/3.x: the database mapped to a bucket).
    username, password
        Sent as HTTP basic auth, which 1.x accepts and 2.x/3.x accept with a token as password.
    timeout_s
        Per-request timeout in seconds; a write never blocks the MQTT thread for longer.
    """

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        auth = (username, password or "") if username is not None else None
        # One persistent client: keep-alive connections, so a write is one round trip.
        self._http = httpx.Client(base_url=self.url, auth=auth, timeout=timeout_s)
        # Serialises writes and the create-on-404 step; also makes close() wait for a write.
        self._lock = threading.Lock()
        self._closed = False

    def write(
        self,
        measurement: str,
        tags: dict[str, str],
        fields: dict[str, FieldValue],
        time: datetime,
    ) -> None:
        """Store one point at ``time`` (nanosecond precision; must be timezone-aware).

        Python ``int`` is written as an InfluxDB integer (``42i``), ``bool`` as a boolean,
        ``float`` as a float and ``str`` as a string, so the field types stay what the device
        reported. Raises `TelemetryWriteError` if InfluxDB did not store the point.
        """
        line = _line_protocol(measurement, tags, fields, time)
        with self._lock:
            if self._closed:
                raise RuntimeError("the InfluxDB telemetry store is closed")
            response = self._post_write(line)
            if response.status_code == 404 and "database not found" in _error_text(response):
                self._create_database()
                response = self._post_write(line)
        if not response.is_success:
            raise TelemetryWriteError(
                f"InfluxDB at {self.url} refused a point for {measurement!r} in database "
                f"{self.database!r}: HTTP {response.status_code}: {_error_text(response)}",
                retryable=response.status_code in _RETRYABLE_STATUSES,
            )

    def query(self, influxql: str) -> list[dict[str, Any]]:
        """Run InfluxQL and return every row as ``{column: value}``, series after series.

        Times are integers in nanoseconds since the epoch (``epoch=ns``). Tags a ``GROUP BY``
        moved out of the columns are put back into each row. Quirk of the JSON answer: a float
        field whose value is whole (``20.0``) comes back as ``20`` (Go prints float64 that
        way), so compare numerically; ``SHOW FIELD KEYS`` tells the stored type.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the InfluxDB telemetry store is closed")
            try:
                response = self._http.post(
                    "/query", params={"db": self.database, "epoch": "ns"}, data={"q": influxql}
                )
            except httpx.HTTPError as err:
                raise TelemetryQueryError(f"InfluxDB at {self.url} unreachable: {err}") from err
        return _rows(influxql, response)

    def close(self) -> None:
        """Close the connection pool; waits for a write in progress to finish."""
        with self._lock:
            self._closed = True
            self._http.close()

    def _post_write(self, line: str) -> httpx.Response:
        try:
            return self._http.post(
                "/write",
                params={"db": self.database, "precision": "ns"},
                content=line.encode(),
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
        except httpx.HTTPError as err:
            raise TelemetryWriteError(
                f"InfluxDB at {self.url} unreachable, point not stored: {err}"
            ) from err

    def _create_database(self) -> None:
        statement = f"CREATE DATABASE {_quote_identifier(self.database)}"
        try:
            response = self._http.post("/query", data={"q": statement})
        except httpx.HTTPError as err:
            raise TelemetryWriteError(
                f"InfluxDB at {self.url} unreachable, point not stored: {err}"
            ) from err
        error = _statement_error(response)
        if error is not None:
            raise TelemetryWriteError(
                f"InfluxDB at {self.url} could not create database {self.database!r}: {error}",
                retryable=response.status_code in _RETRYABLE_STATUSES,
            )


def _line_protocol(
    measurement: str, tags: dict[str, str], fields: dict[str, FieldValue], time: datetime
) -> str:
    if time.tzinfo is None:
        # Point would read a naive time as UTC, the embedded store as local time: refuse it.
        raise ValueError(f"telemetry time must be timezone-aware, got {time.isoformat()}")
    for key, value in fields.items():
        if isinstance(value, float) and not math.isfinite(value):
            # Point silently drops NaN and infinity; say so instead of losing the field.
            raise ValueError(f"field {key!r} is {value}: InfluxDB stores only finite floats")
    # Point escapes names and tag values, writes int as 42i, bool as true/false, str quoted.
    # (from_dict rather than Point(...).tag(...): Point's own methods carry no annotations.)
    point = Point.from_dict({"measurement": measurement, "tags": tags, "fields": fields})
    line: str = point.time(time, WritePrecision.NS).to_line_protocol()
    if not line:
        raise ValueError(f"point for {measurement!r} has no fields; InfluxDB needs one")
    return line


def _quote_identifier(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _error_text(response: httpx.Response) -> str:
    """InfluxDB's own words from the body: ``error`` (1.x, 3.x) or ``message`` (2.x)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("error", "message"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return response.text.strip()[:500] or response.reason_phrase


def _statement_error(response: httpx.Response) -> str | None:
    """The first error of a ``/query`` answer: HTTP-level, or inside a statement result."""
    if not response.is_success:
        return f"HTTP {response.status_code}: {_error_text(response)}"
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text.strip()[:500]}"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    for result in body.get("results", []) if isinstance(body, dict) else []:
        if isinstance(result, dict) and "error" in result:
            return str(result["error"])
    return None


def _rows(influxql: str, response: httpx.Response) -> list[dict[str, Any]]:
    error = _statement_error(response)
    if error is not None:
        raise TelemetryQueryError(f"InfluxDB failed {influxql!r}: {error}")
    rows: list[dict[str, Any]] = []
    for result in response.json().get("results", []):
        for series in result.get("series", []):
            series_tags = series.get("tags", {})
            for values in series.get("values", []):
                rows.append({**series_tags, **dict(zip(series["columns"], values, strict=True))})
    return rows
