"""The InfluxDB telemetry store for a centre, spoken over InfluxDB's v1 HTTP API.

Why the v1 API: it is the one API every InfluxDB generation serves. 1.x (Debian ships 1.6)
has nothing else; 2.x and 3.x keep ``POST /write`` and ``POST /query`` as a compatibility
layer. So the same store runs against whichever server a centre operates, and the tests run on
a real 1.6 ``influxd``. Line protocol is ``influxdb_client.Point``'s, written in bulk with series
keys remembered (`LineProtocolEncoder`); we only send it with ``httpx``.

Credentials: a 1.x user and password go as HTTP basic auth; a 2.x/3.x token goes as
``Authorization: Token <token>``, which both accept on their v1 endpoints.

The server is not contacted when the store is built: a centre must start (and take alarms)
while InfluxDB is briefly down. `prepare` (run by the writer as it starts, retried with the
first batch) sets up the database, retention and downsampling (`influx_schema`), and runs
again if a write finds the database gone (``404 database not found``).

How the v1 write endpoint answers a batch with bad points differs by generation, and matters:
1.x and 3.x keep the good points and answer 400 "partial write" (resending would only repeat
the bad ones), 2.x refuses the whole batch for one bad line (halves of it may go through).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import httpx

from server.telemetry import (
    TelemetryQueryError,
    TelemetryRejected,
    TelemetryWriteError,
    dropped_count,
)
from server.telemetry import influxql as iql
from server.telemetry.charts import LatestValue, SeriesPoint, SeriesQuery, bucket_start
from server.telemetry.influx_schema import RetentionPlan, ensure_schema, rollup_select
from server.telemetry.line_protocol import LineProtocolEncoder
from server.telemetry.point import FieldValue, TelemetryPoint, from_ns, to_ns

# Statuses after which the same request may succeed later: the server is overloaded,
# restarting, or behind a proxy that could not reach it. Anything else in 4xx is about the
# request itself (type conflict, bad name, bad credentials) and fails again unchanged.
_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Refused for what is in the batch (not for who sent it): a part of the batch may go through.
_SPLITTABLE_STATUSES = frozenset({400, 413})


class InfluxTelemetryStore:
    """Telemetry in one InfluxDB database; safe to call from any thread.

    Parameters
    ----------
    url
        Base URL of the InfluxDB HTTP API, e.g. ``http://127.0.0.1:8086``.
    database
        Database name (on 2.x: mapped to a bucket by a DBRP mapping; on 3.x: the database).
    username, password
        1.x credentials, sent as HTTP basic auth.
    token
        2.x/3.x API token, sent as ``Authorization: Token``; excludes ``username``.
    retention
        Retention and downsampling to set up (1.x). None: the operator manages the schema
        (2.x/3.x), and a missing database is only created (``CREATE DATABASE``).
    timeout_s
        Per-request timeout in seconds.
    clock
        Seconds since the epoch; decides whether a chart's range is still in raw data.
    """

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        retention: RetentionPlan | None = None,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if token is not None and username is not None:
            raise ValueError("give InfluxDB either a token or a username, not both")
        self.url = url.rstrip("/")
        self.database = database
        self.retention = retention
        self._clock = clock
        auth = (username, password or "") if username is not None else None
        headers = {"Authorization": f"Token {token}"} if token is not None else {}
        # One persistent client: keep-alive connections, so a write is one round trip.
        self._http = httpx.Client(base_url=self.url, auth=auth, headers=headers, timeout=timeout_s)
        # Serialises schema set-up; close() waits for it.
        self._lock = threading.Lock()
        self._closed = False
        self._encoder = LineProtocolEncoder()

    # -- writing -----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the database and, with a retention plan, its policies and continuous query."""
        with self._lock:
            self._check_open()
            self._create_schema()

    def write(
        self,
        measurement: str,
        tags: dict[str, str],
        fields: dict[str, FieldValue],
        time: datetime,
    ) -> None:
        """Store one point now (no batching); raises `TelemetryWriteError` if not stored."""
        self.write_batch([TelemetryPoint.at(measurement, tags, fields, time)])

    def encode(self, points: Sequence[TelemetryPoint]) -> bytes:
        """The batch's line protocol (nanosecond timestamps), UTF-8."""
        return self._encoder.encode(points)

    def write_batch(
        self,
        points: Sequence[TelemetryPoint],
        encoded: bytes | None = None,
        sent: Callable[[], object] | None = None,
    ) -> None:
        """Store ``points`` in one request (nanosecond precision); ``encoded``: their line
        protocol, made ahead by `encode`; ``sent``: called once the body is in the socket.

        Raises a retryable `TelemetryWriteError` when InfluxDB is unreachable or failing, and
        `TelemetryRejected` when it refused points of the batch.
        """
        if not points:
            return
        body = encoded if encoded is not None else self._encoder.encode(points)
        self._check_open()
        response = self._post_write(body, sent)
        if response.status_code == 404 and "database not found" in _error_text(response):
            with self._lock:
                self._create_schema()
            response = self._post_write(body, sent)
        if response.is_success:
            return
        text = _error_text(response)
        message = (
            f"InfluxDB at {self.url} refused {len(points)} point(s) for database "
            f"{self.database!r}: HTTP {response.status_code}: {text}"
        )
        if response.status_code in _RETRYABLE_STATUSES or response.status_code >= 500:
            raise TelemetryWriteError(message, retryable=True)
        partial = response.status_code == 400 and "partial write" in text
        raise TelemetryRejected(
            message,
            partial=partial,
            splittable=not partial and response.status_code in _SPLITTABLE_STATUSES,
            dropped=dropped_count(text) if partial else None,
        )

    def housekeep(self) -> None:
        """Nothing: InfluxDB enforces retention and runs continuous queries itself."""

    def downsample(self, start: datetime, end: datetime) -> None:
        """Run the continuous query's downsampling over a past range, e.g. data written before
        the query existed (a continuous query only ever covers the interval just ended)."""
        if self.retention is None:
            raise TelemetryQueryError("downsampling needs a retention plan (InfluxDB 1.x)")
        where = f"time >= {to_ns(start)} AND time < {to_ns(end)}"
        self._run(rollup_select(self.database, self.retention, where))

    # -- reading -----------------------------------------------------------------------------

    def query(self, influxql: str) -> list[dict[str, Any]]:
        """Run InfluxQL and return every row as ``{column: value}``, series after series.

        Times are integers in nanoseconds since the epoch (``epoch=ns``). Tags a ``GROUP BY``
        moved out of the columns are put back into each row. Quirk of the JSON answer: a float
        field whose value is whole (``20.0``) comes back as ``20`` (Go prints float64 that
        way), so compare numerically; ``SHOW FIELD KEYS`` tells the stored type.
        """
        rows: list[dict[str, Any]] = []
        for series in self._run(influxql):
            series_tags = series.get("tags", {})
            for values in series.get("values", []):
                rows.append({**series_tags, **dict(zip(series["columns"], values, strict=True))})
        return rows

    def series(self, query: SeriesQuery) -> list[SeriesPoint]:
        """Means per bucket; from the downsampled policy once the range reaches past raw data."""
        policy, field, bucket_s = None, query.field, query.bucket_s
        plan = self.retention
        if plan is not None and query.start_ns < (self._clock() - plan.raw_days * 86_400) * 1e9:
            policy, field = plan.rollup_policy, f"mean_{query.field}"
            bucket_s = max(bucket_s, plan.rollup_interval_s)
        src = iql.source(self.database, policy, query.measurement)
        statement = iql.series_statement(query, src, field, bucket_s)
        return [
            SeriesPoint(bucket_start(row["time"], bucket_s), float(row["mean"]))
            for row in self.query(statement)
            if row["mean"] is not None
        ]

    def latest(
        self, measurement: str, field: str, gateway_id: str | None = None
    ) -> list[LatestValue]:
        """The last value of ``field`` per device, from raw data (kept ``raw_days``)."""
        src = iql.source(self.database, None, measurement)
        found = [
            LatestValue(
                row["gateway_id"], row["device_id"] or None, from_ns(row["time"]), row["last"]
            )
            for row in self.query(iql.latest_statement(src, field, gateway_id))
            if row["last"] is not None
        ]
        return sorted(found, key=lambda v: (v.gateway_id, v.device_id or ""))

    def close(self) -> None:
        """Close the connection pool; waits for a schema set-up in progress."""
        with self._lock:
            self._closed = True
            self._http.close()

    # -- HTTP --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the InfluxDB telemetry store is closed")

    def _post_write(self, body: bytes, sent: Callable[[], object] | None = None) -> httpx.Response:
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        content: bytes | Iterator[bytes] = body
        if sent is not None:
            # httpx asks a body iterator for more once it has written what it was given: past
            # the end, the body is in the socket. With its length given it goes unchunked.
            content = _reporting_end(body, sent)
            headers["Content-Length"] = str(len(body))
        try:
            return self._http.post(
                "/write",
                params={"db": self.database, "precision": "ns"},
                content=content,
                headers=headers,
            )
        except httpx.HTTPError as err:
            raise TelemetryWriteError(
                f"InfluxDB at {self.url} unreachable, points not stored: {err}"
            ) from err

    def _run(self, statement: str) -> list[dict[str, Any]]:
        """One statement; the ``series`` of its result. Raises `TelemetryQueryError`."""
        try:
            response = self._http.post(
                "/query", params={"db": self.database, "epoch": "ns"}, data={"q": statement}
            )
        except httpx.HTTPError as err:
            raise TelemetryQueryError(
                f"InfluxDB at {self.url} unreachable: {err}", retryable=True
            ) from err
        error = _statement_error(response)
        if error is not None:
            raise TelemetryQueryError(
                f"InfluxDB failed {statement!r}: {error}",
                retryable=response.status_code in _RETRYABLE_STATUSES,
            )
        results = response.json().get("results", [])
        return list(results[0].get("series", [])) if results else []

    def _create_schema(self) -> None:
        """Under ``_lock``. Query errors become write errors: the caller was writing."""
        try:
            if self.retention is None:
                self._run(f"CREATE DATABASE {iql.identifier(self.database)}")
            else:
                ensure_schema(self._run, self.database, self.retention)
        except TelemetryQueryError as err:
            raise TelemetryWriteError(
                f"could not set up database {self.database!r}: {err}", retryable=err.retryable
            ) from err


def _reporting_end(body: bytes, sent: Callable[[], object]) -> Iterator[bytes]:
    yield body
    sent()


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
