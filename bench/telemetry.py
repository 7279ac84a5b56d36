"""Telemetry ingest into a real InfluxDB, against writing the same line protocol straight to it.

Both runs go to one influxd (Debian's 1.6, started here by onebox) in the same process, each
into its own database set up the same way (raw and downsampled retention policies):

- **direct**: the line protocol of every point, built beforehand, POSTed to ``/write`` in
  batches of ``--batch`` from one connection, one batch after the other. The floor: nothing
  but InfluxDB's own work and one HTTP round trip per batch.
- **ingest**: the same points as the MQTT payloads gateways publish, each handed to the
  server's `UplinkHandler` (decode and validate the wire message, build the point, offer it
  to the `BatchingWriter`), whose thread builds the line protocol and writes the batches.
  This is what the server's MQTT thread does per message; the broker hop is not included.

Each rate counts from the first byte sent until InfluxDB answers a ``count()`` with every
point. The last line is the one to compare runs by::

    telemetry: points=N direct_per_s=X ingest_per_s=Y ratio=Z

    .venv/bin/python -m bench.telemetry [--points 200000] [--homes 2000] [--batch 5000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from onebox.influx import InfluxServer
from onebox.net import wait_for
from protocol import TelemetryBody, TelemetryMessage, decode_uplink, encode
from server.centre import Centre
from server.core.config import ServerSettings
from server.telemetry import TelemetryPoint
from server.telemetry.influx import InfluxTelemetryStore
from server.telemetry.influx_schema import RetentionPlan


def messages(count: int, homes: int) -> list[tuple[str, bytes, TelemetryPoint]]:
    """``count`` points spread over ``homes`` gateways, one minute apart per home, ending now."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=count // homes + 1)
    made = []
    for i in range(count):
        home, step = i % homes, i // homes
        gateway = f"gw-{home:05d}"
        at = start + timedelta(minutes=step, milliseconds=home)
        fields: dict[str, float | int | bool | str] = {
            "heart_rate": 55 + (i * 7) % 40,
            "respiration": 12.0 + (i % 9) / 3,
            "in_bed": i % 5 != 0,
        }
        message = TelemetryMessage(
            gateway_id=gateway,
            device_id="bed-1",
            gateway_time=at,
            body=TelemetryBody(measurement="vitals", fields=fields),
        )
        tags = {"gateway_id": gateway, "device_id": "bed-1"}
        point = TelemetryPoint.at("vitals", tags, fields, at)
        made.append((f"eldercare/v1/{gateway}/up/telemetry", encode(message), point))
    return made


def wait_for_count(store: InfluxTelemetryStore, count: int) -> None:
    def all_there() -> bool:
        rows = store.query("SELECT count(heart_rate) FROM vitals")
        return bool(rows) and rows[0]["count"] >= count

    wait_for(all_there, 300, f"{count} points in {store.database}", step=0.02)


def direct(influx: InfluxServer, bodies: list[bytes], count: int) -> float:
    """Points per second for the prebuilt line protocol, POSTed batch after batch."""
    store = InfluxTelemetryStore(influx.url, "direct", retention=RetentionPlan())
    store.prepare()
    with httpx.Client(base_url=influx.url, timeout=60) as http:
        started = time.perf_counter()
        for body in bodies:
            response = http.post(
                "/write",
                params={"db": "direct", "precision": "ns"},
                content=body,
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
            response.raise_for_status()
        wait_for_count(store, count)
        elapsed = time.perf_counter() - started
    store.close()
    return count / elapsed


def ingest(
    influx: InfluxServer, workdir: Path, payloads: list[tuple[str, bytes]], batch: int
) -> tuple[float, Centre]:
    """Points per second through the server's ingest handler and batching writer."""
    settings = ServerSettings(
        data_dir=workdir / "server",
        mqtt_enabled=False,
        admin_password="bench",
        telemetry_backend="influxdb",
        influx_url=influx.url,
        influx_database="ingest",
        telemetry_batch_size=batch,
        telemetry_queue_bound=max(len(payloads), batch),
    )
    centre = Centre(settings)
    centre.telemetry_store.prepare()  # as the writer would; not part of the timed run
    centre.telemetry.start()
    handle = centre.handler.handle
    started = time.perf_counter()
    for topic, payload in payloads:
        handle(topic, payload)
    handed = time.perf_counter() - started
    assert centre.telemetry.flush(timeout_s=300), "the writer did not drain"
    store = centre.telemetry_store
    assert isinstance(store, InfluxTelemetryStore)
    wait_for_count(store, len(payloads))
    elapsed = time.perf_counter() - started
    print(
        f"bench: ingest handed {len(payloads)} payloads to the handler in {handed:.2f} s "
        f"({len(payloads) / handed:,.0f}/s), all stored after {elapsed:.2f} s"
    )
    return len(payloads) / elapsed, centre


def per_point_costs(made: list[tuple[str, bytes, TelemetryPoint]]) -> dict[str, float]:
    """Microseconds per point of the Python steps of ingest, each alone on a sample."""
    sample = made[:20_000]
    started = time.perf_counter()
    decoded = [decode_uplink(topic, payload) for topic, payload, _ in sample]
    decode_s = time.perf_counter() - started
    started = time.perf_counter()
    for message in decoded:
        assert isinstance(message, TelemetryMessage)
        tags = {"gateway_id": message.gateway_id, "device_id": message.device_id or ""}
        TelemetryPoint.at(message.body.measurement, tags, message.body.fields, message.gateway_time)
    point_s = time.perf_counter() - started
    started = time.perf_counter()
    for _, _, point in sample:
        point.line_protocol()
    line_s = time.perf_counter() - started
    per = 1e6 / len(sample)
    return {"decode": decode_s * per, "point": point_s * per, "line protocol": line_s * per}


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.telemetry")
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--homes", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="eldercare-bench-telemetry-"))
    made = messages(args.points, args.homes)
    lines = [point.line_protocol() for _, _, point in made]
    bodies = [
        "\n".join(lines[i : i + args.batch]).encode() for i in range(0, len(lines), args.batch)
    ]
    payloads = [(topic, payload) for topic, payload, _ in made]
    influx = InfluxServer(workdir / "influxd").start()
    try:
        direct_rate = direct(influx, bodies, args.points)
        ingest_rate, centre = ingest(influx, workdir, payloads, args.batch)
        stats = centre.telemetry.stats()
        centre.stop()
    finally:
        influx.stop()
    print(f"bench: {args.points} points from {args.homes} homes, batches of {args.batch}")
    print(f"bench: direct line protocol to /write: {direct_rate:,.0f} points/s")
    print(f"bench: server ingest (handler + batching writer): {ingest_rate:,.0f} points/s")
    print(
        f"bench: writer batches={stats.batches} written={stats.written} "
        f"dropped={stats.dropped or 0} retries={stats.retries} "
        f"mean batch latency={stats.batch_latency.sum_s / max(stats.batches, 1) * 1000:.0f} ms"
    )
    costs = per_point_costs(made)
    print(
        "bench: Python per point: "
        + ", ".join(f"{step} {us:.1f} us" for step, us in costs.items())
        + f"; InfluxDB per point (direct): {1e6 / direct_rate:.1f} us"
    )
    ratio = ingest_rate / direct_rate
    print(f"bench: goal ratio >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'}")
    print(
        f"telemetry: points={args.points} direct_per_s={direct_rate:.0f} "
        f"ingest_per_s={ingest_rate:.0f} ratio={ratio:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
