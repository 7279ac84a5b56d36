"""InfluxQL text built from values that may come from outside (an API query string).

Every name goes through `identifier` and every value through `string`; times and bucket
widths are integers we computed. Bound parameters (``params=``) exist in 1.x but not in every
v1-compatible server, so quoting is what works everywhere. The InfluxQL scanner reads the
same backslash escapes in both quote styles (``\\\\``, ``\\"``, ``\\'``, ``\\n``); a raw
newline inside quotes is a parse error, so it is escaped too.
"""

from __future__ import annotations

import re

from server.telemetry.charts import SeriesQuery

_GO_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?")


def _escape(text: str, quote: str) -> str:
    escaped = text.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")
    return f"{quote}{escaped}{quote}"


def identifier(name: str) -> str:
    """A database, retention policy, measurement, field or tag name."""
    return _escape(name, '"')


def string(value: str) -> str:
    """A string literal, e.g. a tag value compared in ``WHERE``."""
    return _escape(value, "'")


def source(database: str, retention_policy: str | None, measurement: str) -> str:
    """``"db"."rp"."measurement"``; without a policy, the database's default one."""
    rp = identifier(retention_policy) if retention_policy else ""
    return f"{identifier(database)}.{rp}.{identifier(measurement)}"


def device_condition(gateway_id: str, device_id: str | None) -> str:
    """Selects one device; the gateway's own points carry no ``device_id`` tag.

    In InfluxQL a missing tag compares equal to the empty string.
    """
    return f"{identifier('gateway_id')} = {string(gateway_id)} AND {identifier('device_id')} = " + (
        string(device_id or "")
    )


def series_statement(query: SeriesQuery, src: str, field: str, bucket_s: int) -> str:
    """Means per bucket; ``fill(none)`` leaves empty buckets out, as the embedded store does."""
    return (
        f"SELECT mean({identifier(field)}) FROM {src}"  # noqa: S608 (all quoted)
        f" WHERE {device_condition(query.gateway_id, query.device_id)}"
        f" AND time >= {query.start_ns} AND time < {query.end_ns}"
        f" GROUP BY time({bucket_s}s) fill(none)"
    )


def latest_statement(
    src: str, field: str, gateway_id: str | None, since_ns: int | None = None
) -> str:
    """The last value of ``field`` per gateway and device (``last()`` keeps the point's time)."""
    conditions: list[str] = []
    if gateway_id is not None:
        conditions.append(f"{identifier('gateway_id')} = {string(gateway_id)}")
    if since_ns is not None:
        conditions.append(f"time >= {since_ns}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    group = f"{identifier('gateway_id')}, {identifier('device_id')}"
    return f"SELECT last({identifier(field)}) FROM {src}{where} GROUP BY {group}"  # noqa: S608


def go_duration_s(text: str) -> float:
    """Seconds in a Go duration as ``SHOW RETENTION POLICIES`` prints it (``720h0m0s``)."""
    match = _GO_DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"not a duration InfluxDB prints: {text!r}")
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
