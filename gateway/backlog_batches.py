"""Backlogged telemetry sent as ``telemetry_batch`` messages rather than one by one.

After an outage a gateway may hold hours of telemetry. Each message costs the centre's broker
a save of its store (QoS 1), so one reading per message drains a fleet's backlogs at a few
hundred readings a second for all gateways together; in batches of up to
``MAX_BATCH_READINGS`` the same readings pass a hundred times faster, and alarms meet a
broker that is not buried. Consecutive ``telemetry`` rows become one ``telemetry_series``
message (columns per device and measurement, each series in the rows' order; see
`protocol.TelemetrySeries` for why), or, towards a centre that predates that message type,
one ``telemetry_batch`` of reading objects; device events go as they were kept. A kept payload that
does not read back as this gateway's telemetry is sent as it was, alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from gateway.backlog import Kept
from protocol import (
    Channel,
    TelemetryBatchBody,
    TelemetryBatchMessage,
    TelemetryMessage,
    TelemetryReading,
    TelemetrySeries,
    TelemetrySeriesBody,
    TelemetrySeriesMessage,
    encode,
)
from protocol.codec import MAX_PAYLOAD_BYTES
from protocol.messages import MAX_BATCH_READINGS, epoch_micros

# Kept telemetry payloads gathered into one batch, at most this many bytes together: a reading
# is shorter than the message it came in (no v, id, gateway_id, type or body around it), so a
# batch, with its own envelope (far less than the margin), stays under the payload limit. As
# columns it mostly is shorter still; where not, `_batches` halves it.
BATCH_SOURCE_BYTES = MAX_PAYLOAD_BYTES - 1024


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish, and the kept rows it carries (sent together)."""

    channel: Channel
    payload: bytes
    rows: tuple[Kept, ...]


def outgoing(
    kept: list[Kept], gateway_id: str, now: datetime, *, as_columns: bool = True
) -> list[Outgoing]:
    """``kept`` (oldest first) as the messages to publish, in the same order: runs of
    telemetry as ``telemetry_series`` (``as_columns``) or ``telemetry_batch`` messages."""
    messages: list[Outgoing] = []
    run: list[tuple[Kept, TelemetryMessage]] = []
    run_bytes = 0
    for row in kept:
        reading = _telemetry(row, gateway_id)
        if reading is not None and (
            len(run) == MAX_BATCH_READINGS or run_bytes + len(row.payload) > BATCH_SOURCE_BYTES
        ):
            messages += _batches(run, gateway_id, now, as_columns)
            run, run_bytes = [], 0
        if reading is None:
            if run:
                messages += _batches(run, gateway_id, now, as_columns)
                run, run_bytes = [], 0
            messages.append(Outgoing(Channel(row.channel), row.payload, (row,)))
            continue
        run.append((row, reading))
        run_bytes += len(row.payload)
    if run:
        messages += _batches(run, gateway_id, now, as_columns)
    return messages


def _telemetry(row: Kept, gateway_id: str) -> TelemetryMessage | None:
    if row.channel != Channel.TELEMETRY.value:
        return None
    try:
        message = TelemetryMessage.model_validate_json(row.payload, strict=True)
    except ValidationError:
        return None
    return message if message.gateway_id == gateway_id else None


def _batches(
    run: list[tuple[Kept, TelemetryMessage]], gateway_id: str, now: datetime, as_columns: bool
) -> list[Outgoing]:
    """The run as one message, or halves of it while one would be over the payload limit
    (columns can be: a reading alone in its series pays ``[`` and ``]`` for every field)."""
    if len(run) == 1:  # nothing to gain: as it was kept
        row, _ = run[0]
        return [Outgoing(Channel.TELEMETRY, row.payload, (row,))]
    messages = [message for _, message in run]
    batch: TelemetrySeriesMessage | TelemetryBatchMessage
    if as_columns:
        body = TelemetrySeriesBody(series=as_series(messages))
        batch = TelemetrySeriesMessage(gateway_id=gateway_id, gateway_time=now, body=body)
    else:
        readings = TelemetryBatchBody(readings=[_reading(message) for message in messages])
        batch = TelemetryBatchMessage(gateway_id=gateway_id, gateway_time=now, body=readings)
    payload = encode(batch)
    if len(payload) > MAX_PAYLOAD_BYTES:
        half = len(run) // 2
        return _batches(run[:half], gateway_id, now, as_columns) + _batches(
            run[half:], gateway_id, now, as_columns
        )
    return [Outgoing(Channel(batch.type), payload, tuple(row for row, _ in run))]


def _reading(message: TelemetryMessage) -> TelemetryReading:
    return TelemetryReading(
        measurement=message.body.measurement,
        device_id=message.device_id,
        gateway_time=message.gateway_time,
        fields=message.body.fields,
    )


def as_series(messages: list[TelemetryMessage]) -> list[TelemetrySeries]:
    """The readings as columns: one series per device, measurement and set of field names
    (in the order each first came; a series keeps its readings' order)."""
    grouped: dict[tuple[str, str | None, tuple[str, ...]], list[TelemetryMessage]] = {}
    for message in messages:
        body = message.body
        grouped.setdefault((body.measurement, message.device_id, tuple(body.fields)), []).append(
            message
        )
    return [
        TelemetrySeries(
            measurement=measurement,
            device_id=device_id,
            gateway_times_us=[epoch_micros(m.gateway_time) for m in members],
            fields={name: [m.body.fields[name] for m in members] for name in names},
        )
        for (measurement, device_id, names), members in grouped.items()
    ]
