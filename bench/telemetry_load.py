"""The points bench.telemetry writes, and the MQTT payloads gateways would publish for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from protocol import (
    TelemetryBatchBody,
    TelemetryBatchMessage,
    TelemetryBody,
    TelemetryMessage,
    TelemetryReading,
    TelemetrySeries,
    TelemetrySeriesBody,
    TelemetrySeriesMessage,
    encode,
)
from protocol.messages import Scalar, epoch_micros
from server.telemetry import TelemetryPoint


@dataclass(frozen=True)
class Reading:
    gateway_id: str
    at: datetime
    fields: dict[str, Scalar]

    def point(self) -> TelemetryPoint:
        tags = {"gateway_id": self.gateway_id, "device_id": "bed-1"}
        return TelemetryPoint.at("vitals", tags, self.fields, self.at)


def readings(count: int, homes: int) -> list[Reading]:
    """``count`` vitals readings from ``homes`` homes, one a minute per home, ending now;
    home by home (the order a home's readings arrive in, batched or not)."""
    per_home = -(-count // homes)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=per_home + 1)
    made = []
    for i in range(count):
        home, step = i // per_home, i % per_home
        made.append(
            Reading(
                f"gw-{home:05d}",
                start + timedelta(minutes=step, milliseconds=home),
                {
                    "heart_rate": 55 + (i * 7) % 40,
                    "respiration": 12.0 + (i % 9) / 3,
                    "in_bed": i % 5 != 0,
                },
            )
        )
    return made


def single_payloads(made: list[Reading]) -> list[tuple[str, bytes]]:
    return [
        (
            f"eldercare/v1/{r.gateway_id}/up/telemetry",
            encode(
                TelemetryMessage(
                    gateway_id=r.gateway_id,
                    device_id="bed-1",
                    gateway_time=r.at,
                    body=TelemetryBody(measurement="vitals", fields=r.fields),
                )
            ),
        )
        for r in made
    ]


def batch_payloads(
    made: list[Reading], per_message: int, *, as_series: bool = True
) -> list[tuple[str, bytes]]:
    """Each home's readings in order, ``per_message`` to a message (fewer in its last): as
    one ``telemetry_series`` (columns, what a gateway sends) or ``as_series=False`` as a
    ``telemetry_batch`` of reading objects."""
    payloads, chunk = [], []
    for i, r in enumerate(made):
        chunk.append(r)
        last = i + 1 == len(made) or made[i + 1].gateway_id != r.gateway_id
        if len(chunk) == per_message or last:
            message: TelemetrySeriesMessage | TelemetryBatchMessage
            if as_series:
                body = _series_body(chunk)
                message = TelemetrySeriesMessage(
                    gateway_id=r.gateway_id, gateway_time=r.at, body=body
                )
            else:
                readings = _readings_body(chunk)
                message = TelemetryBatchMessage(
                    gateway_id=r.gateway_id, gateway_time=r.at, body=readings
                )
            payloads.append((f"eldercare/v1/{r.gateway_id}/up/{message.type}", encode(message)))
            chunk = []
    return payloads


def _readings_body(chunk: list[Reading]) -> TelemetryBatchBody:
    return TelemetryBatchBody(
        readings=[
            TelemetryReading(
                measurement="vitals", device_id="bed-1", gateway_time=c.at, fields=c.fields
            )
            for c in chunk
        ]
    )


def _series_body(chunk: list[Reading]) -> TelemetrySeriesBody:
    names = list(chunk[0].fields)
    series = TelemetrySeries(
        measurement="vitals",
        device_id="bed-1",
        gateway_times_us=[epoch_micros(c.at) for c in chunk],
        fields={name: [c.fields[name] for c in chunk] for name in names},
    )
    return TelemetrySeriesBody(series=[series])
