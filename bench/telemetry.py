"""Telemetry ingest end to end into a real InfluxDB, against writing the same line protocol
straight to it.

One influxd (Debian's 1.6) and one mosquitto (the production ACL), started here; every run
writes the same points, in the same order, into a database of its own set up the same way
(raw and downsampled retention policies), in batches of ``--batch`` points:

- **direct**: the line protocol of every point, built beforehand (influxdb-client's `Point`),
  POSTed to ``/write`` batch after batch from one connection. The floor: nothing but
  InfluxDB's own work and one HTTP round trip per batch.
- **series_N** and **single**: the points as the MQTT payloads gateways publish, from a
  publisher process (the gateways' CPU; ``bench/telemetry_publish.py``) through mosquitto to
  the server's broker link, ingest handler and batching writer, as ``python -m server`` runs
  them. ``series_N``: ``telemetry_series`` messages of N readings, each home's readings
  together as columns, a run for each N of ``--per-message``. The defaults: 2000 homes, each
  with 1000 readings, sent as a gateway drains a backlog (``MAX_BATCH_READINGS`` a message,
  the goal's run) and in messages of 100 (where the cost of each MQTT message shows).
  ``--readings``: also as ``telemetry_batch`` reading objects. ``single``: one ``telemetry``
  message per point (what a gateway sends for each reading as it comes), for the first
  ``--single-points`` points only: at a message a point, mostly MQTT's cost (about 8,000 a
  second here), the full set would take minutes.

``--via handler`` measures the server's side alone: the same payloads handed to the ingest
handler as the routine lane hands them (500 at a time), no broker, no publisher.

Each rate counts from the first byte sent until InfluxDB answers a ``count()`` with every
point. With ``--rounds`` > 1 the runs alternate and the best rate of each is kept (the machine
is shared). CPU seconds per point of each process are printed to show where the time goes.
The last line is the one to compare runs by (``ratio`` is the first ``--per-message``'s, the
goal's; ``ratio_<run>`` the others')::

    telemetry: points=N direct_per_s=X ingest_per_s=Y ratio=Z ratio_series_100=R ratio_single=S

    .venv/bin/python -m bench.telemetry [--points 2000000] [--homes 2000] [--batch 5000]
        [--per-message 1000 100] [--rounds 1] [--single-points 2000] [--via broker|handler]
"""

from __future__ import annotations

import argparse
import os
import pickle
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.telemetry_load import batch_payloads, readings, single_payloads
from onebox.broker import CENTRE_ACL, Broker
from onebox.influx import InfluxServer
from onebox.net import wait_for
from protocol import (
    TelemetryBody,
    TelemetryMessage,
    encode,
)
from protocol.messages import MAX_BATCH_READINGS
from protocol.mqtt import BrokerEndpoint, new_client
from server.centre import Centre
from server.core.collector import tune_collector
from server.core.config import ServerSettings
from server.core.switching import tune_switching
from server.ingest.broker import ROUTINE_BATCH
from server.telemetry.influx import InfluxTelemetryStore
from server.telemetry.influx_schema import RetentionPlan

PUBLISHER = "bench-gateways"  # one account publishing for every simulated home
_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclass
class Cpu:
    """CPU seconds of the processes on the path, between `start` and `stop`."""

    pids: dict[str, int]
    used: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        times = os.times()
        now = {"server (bench process)": times.user + times.system}
        for name, pid in self.pids.items():
            now[name] = _cpu_s(f"/proc/{pid}/stat")
        # The server's threads by name: which of them the time goes to.
        for thread in threading.enumerate():
            task = Path(f"/proc/self/task/{thread.native_id}/stat")
            if thread.name.startswith(("ingest-", "telemetry-", "paho")) and task.exists():
                now[f"  {thread.name}"] = _cpu_s(str(task))
        return now

    @contextmanager
    def measure(self) -> Iterator[None]:
        before = self._now()
        yield
        after = self._now()
        self.used = {name: after[name] - before.get(name, 0.0) for name in after}

    def per_point(self, count: int) -> str:
        return ", ".join(f"{name} {s / count * 1e6:.1f} us" for name, s in self.used.items())


def _cpu_s(stat_path: str) -> float:
    """User and system CPU seconds of a process or thread, from its ``/proc`` stat line."""
    stat = Path(stat_path).read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S


def settle(influx: InfluxServer, quiet_s: float = 0.5, most_s: float = 15.0) -> None:
    """Wait until influxd is idle (below 5 % of a core over ``quiet_s``), at most ``most_s``:
    its work after a run (compacting what was written, dropping a database) is not the next
    run's."""
    stat = f"/proc/{_pid(influx)}/stat"
    deadline = time.monotonic() + most_s
    while time.monotonic() < deadline:
        before = _cpu_s(stat)
        time.sleep(quiet_s)  # a sampling interval, not a wait for a condition
        if _cpu_s(stat) - before < 0.05 * quiet_s:
            return


def wait_for_count(store: InfluxTelemetryStore, count: int, why: str) -> None:
    def all_there() -> bool:
        rows = store.query("SELECT count(heart_rate) FROM vitals")
        return bool(rows) and rows[0]["count"] >= count

    wait_for(all_there, 300, f"{count} points in {store.database} ({why})", step=0.02)


def direct(influx: InfluxServer, bodies: list[bytes], count: int, database: str) -> float:
    """Points per second for the prebuilt line protocol, POSTed batch after batch."""
    store = InfluxTelemetryStore(influx.url, database, retention=RetentionPlan())
    store.prepare()
    cpu = Cpu({"influxd": _pid(influx)})
    with httpx.Client(base_url=influx.url, timeout=60) as http, cpu.measure():
        started = time.perf_counter()
        for body in bodies:
            response = http.post(
                "/write",
                params={"db": database, "precision": "ns"},
                content=body,
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
            response.raise_for_status()
        wait_for_count(store, count, "direct")
        elapsed = time.perf_counter() - started
    print(f"bench: direct {count / elapsed:,.0f} points/s; CPU per point: {cpu.per_point(count)}")
    store.query(f'DROP DATABASE "{database}"')
    store.close()
    return count / elapsed


@dataclass
class Stack:
    """mosquitto and InfluxDB, shared by every run, and the broker accounts."""

    workdir: Path
    influx: InfluxServer
    broker: Broker
    server_password: str
    publisher_password: str


def _centre(stack: Stack, database: str, count: int, batch: int, *, mqtt: bool) -> Centre:
    """The server's ingest as ``python -m server`` builds it, writing into ``database``."""
    settings = ServerSettings(
        data_dir=stack.workdir / database,
        admin_password="bench",
        mqtt_enabled=mqtt,
        mqtt_port=stack.broker.port,
        mqtt_password=stack.server_password,
        instance=database,
        telemetry_backend="influxdb",
        influx_url=stack.influx.url,
        influx_database=database,
        telemetry_batch_size=batch,
        telemetry_queue_bound=max(count, batch),
    )
    centre = Centre(settings)
    tune_collector()  # as python -m server does once the application is built
    tune_switching()
    centre.telemetry.start()
    # The writer sets the store up as it starts; not part of the timed run.
    wait_for(lambda: centre.telemetry.prepared, 30, "the telemetry store set up", step=0.01)
    return centre


def _handled(centre: Centre) -> int:
    counts = centre.handler.counts
    return counts["telemetry"] + counts["telemetry_batch"] + counts["telemetry_series"]


def _stored(centre: Centre, count: int, form: str, messages: int) -> None:
    """Until InfluxDB counts every point. Once the handler has every message, the writer is
    flushed (its last batch is not left to age: direct sends its last one at once). The
    writer's own count first: a count() query scans every point so far, and polled all along
    it would load InfluxDB (direct asks only after its last write)."""
    wait_for(lambda: _handled(centre) >= messages, 300, f"{messages} messages handled", step=0.02)
    assert centre.telemetry.flush(timeout_s=300), "the writer did not drain"
    written = centre.telemetry.stats
    wait_for(lambda: written().written >= count, 300, f"{count} points written", step=0.02)
    store = centre.telemetry_store
    assert isinstance(store, InfluxTelemetryStore)
    wait_for_count(store, count, form)


def _done(centre: Centre, form: str, count: int, elapsed: float, cpu: Cpu, how: str) -> float:
    stats = centre.telemetry.stats()
    print(
        f"bench: {form}: {how}, all {count} points stored after {elapsed:.2f} s: "
        f"{count / elapsed:,.0f} points/s; writer batches={stats.batches} "
        f"dropped={sum(stats.dropped.values())}"
    )
    print(f"bench: {form}: CPU per point: {cpu.per_point(count)}")
    store = centre.telemetry_store
    assert isinstance(store, InfluxTelemetryStore)
    store.query(f'DROP DATABASE "{store.database}"')
    centre.stop()
    return count / elapsed


def via_handler(
    stack: Stack,
    form: str,
    payloads: list[tuple[str, bytes]],
    count: int,
    batch: int,
    database: str,
) -> float:
    """The server's side alone: payloads handed to the ingest handler as its routine lane
    does (``ROUTINE_BATCH`` at a time), no broker; from the first until InfluxDB has all."""
    centre = _centre(stack, database, count, batch, mqtt=False)
    cpu = Cpu({"influxd": _pid(stack.influx)})
    with cpu.measure():
        started = time.perf_counter()
        for i in range(0, len(payloads), ROUTINE_BATCH):
            centre.handler.handle_many(payloads[i : i + ROUTINE_BATCH])
        handed = time.perf_counter() - started
        _stored(centre, count, form, len(payloads))
        elapsed = time.perf_counter() - started
    how = f"{len(payloads)} messages handed to the handler in {handed:.2f} s"
    return _done(centre, form, count, elapsed, cpu, how)


def via_broker(
    stack: Stack,
    form: str,
    payloads: list[tuple[str, bytes]],
    count: int,
    batch: int,
    database: str,
) -> float:
    """End to end: from the publisher's first message until InfluxDB has every point."""
    centre = _centre(stack, database, count, batch, mqtt=True)
    assert centre.broker is not None
    centre.broker.start()
    wait_for(centre.broker.connected.is_set, 10, "the server's broker link")
    file = stack.workdir / f"{database}.pickle"
    file.write_bytes(pickle.dumps(payloads))
    publisher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.telemetry_publish",
            str(file),
            stack.broker.host,
            str(stack.broker.port),
            PUBLISHER,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "BENCH_PUBLISH_PASSWORD": stack.publisher_password},
    )
    assert publisher.stdin is not None
    assert publisher.stdout is not None
    try:
        assert publisher.stdout.readline().strip() == "ready", "the publisher did not connect"
        _subscribed(centre, stack)
        pids = {"mosquitto": _pid(stack.broker), "influxd": _pid(stack.influx)}
        cpu = Cpu({**pids, "publisher": publisher.pid})
        before = _handled(centre)  # the probe
        with cpu.measure():
            started = time.perf_counter()
            publisher.stdin.write("go\n")
            publisher.stdin.flush()
            _stored(centre, count, form, before + len(payloads))
            elapsed = time.perf_counter() - started
        published = float(publisher.stdout.readline().split()[1])
    finally:
        if publisher.poll() is None:
            publisher.kill()
        publisher.wait()
    how = (
        f"{len(payloads)} messages published in {published:.2f} s "
        f"(routine messages dropped: {centre.broker.routine_dropped})"
    )
    return _done(centre, form, count, elapsed, cpu, how)


def _subscribed(centre: Centre, path: Stack) -> None:
    """The shared subscription is live once a probe published after it arrives (SUBACK is not
    visible through the link); the probe's measurement is not the one counted."""
    probe = TelemetryMessage(
        gateway_id="gw-probe",
        gateway_time=datetime.now(UTC),
        body=TelemetryBody(measurement="probe", fields={"n": 1}),
    )
    client = new_client(
        "bench-probe",
        BrokerEndpoint(path.broker.host, path.broker.port, PUBLISHER, path.publisher_password),
    )
    client.connect(path.broker.host, path.broker.port)
    client.loop_start()
    try:
        wait_for(
            lambda: (
                bool(client.publish("eldercare/v1/gw-probe/up/telemetry", encode(probe), qos=1))
                and centre.handler.counts["telemetry"] > 0
            ),
            10,
            "the server's subscription",
            step=0.2,
        )
    finally:
        client.disconnect()
        client.loop_stop()


def _pid(service_owner: InfluxServer | Broker) -> int:
    service = service_owner.service
    assert service is not None
    assert service.proc is not None
    return service.proc.pid


def _broker(workdir: Path, server_password: str, publisher_password: str) -> Broker:
    """The production ACL, and one account allowed to publish as every home (a bench
    shortcut for thousands of gateway connections; the ACL is still consulted per message)."""
    acl = workdir / "acl"
    acl.write_text(
        CENTRE_ACL.read_text() + f"\nuser {PUBLISHER}\ntopic write eldercare/v1/+/up/#\n"
    )
    accounts = {"server": server_password, PUBLISHER: publisher_password}
    return Broker(workdir / "mosquitto", accounts, acl=acl).start()


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.telemetry")
    parser.add_argument("--points", type=int, default=2_000_000)
    parser.add_argument("--homes", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument(
        "--per-message",
        type=int,
        nargs="+",
        default=[MAX_BATCH_READINGS, 100],
        help="readings per telemetry_series message, a run for each; the first is the goal's",
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--single-points", type=int, default=2000)
    parser.add_argument(
        "--readings",
        action="store_true",
        help="also the batches as reading objects (the older form), not only as series",
    )
    parser.add_argument("--via", choices=["broker", "handler"], default="broker")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="eldercare-bench-telemetry-"))
    made = readings(args.points, args.homes)
    lines = [r.point().line_protocol() for r in made]
    bodies = [
        "\n".join(lines[i : i + args.batch]).encode() for i in range(0, len(lines), args.batch)
    ]
    sizes: list[int] = args.per_message
    forms = {f"series_{n}": (batch_payloads(made, n), args.points) for n in sizes}
    if args.readings:
        readings_form = batch_payloads(made, sizes[0], as_series=False)
        forms[f"readings_{sizes[0]}"] = (readings_form, args.points)
    if args.single_points:
        forms["single"] = (single_payloads(made[: args.single_points]), args.single_points)
    del made, lines
    server_password, publisher_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    influx = InfluxServer(workdir / "influxd").start()
    broker = _broker(workdir, server_password, publisher_password)
    stack = Stack(workdir, influx, broker, server_password, publisher_password)
    best: dict[str, float] = {}
    run = via_broker if args.via == "broker" else via_handler
    try:
        for round_ in range(args.rounds):
            settle(influx)
            rates = {"direct": direct(influx, bodies, args.points, f"direct_{round_}")}
            for form, (payloads, count) in forms.items():
                settle(influx)
                rates[form] = run(stack, form, payloads, count, args.batch, f"{form}_{round_}")
            for name, rate in rates.items():
                best[name] = max(best.get(name, 0.0), rate)
    finally:
        broker.stop()
        influx.stop()
    print(_summary(args, best))
    return 0


def _summary(args: argparse.Namespace, best: dict[str, float]) -> str:
    """The closing lines: the goal's verdict, then one line of figures to compare runs by."""
    direct_rate = best["direct"]
    first = args.per_message[0]
    ratio = best[f"series_{first}"] / direct_rate
    verdict = "met" if ratio >= 0.8 else "NOT met"
    others = "".join(
        f" ratio_{name}={rate / direct_rate:.{3 if name == 'single' else 2}f}"
        for name, rate in best.items()
        if name not in ("direct", f"series_{first}")
    )
    return (
        f"bench: {args.points} points from {args.homes} homes, InfluxDB batches of {args.batch}, "
        f"best of {args.rounds}; goal ratio >= 0.8 at {first} readings a message: {verdict}\n"
        f"telemetry: points={args.points} direct_per_s={direct_rate:.0f} "
        f"ingest_per_s={best[f'series_{first}']:.0f} ratio={ratio:.2f}{others}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
