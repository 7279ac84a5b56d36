"""Alarm latency idle and under a telemetry flood: the goal is flood p99 <= 2 x idle p99.

Real mosquitto, a real ``python -m gateway`` process and a real server (SQLite by default).
A simulated call button on a pty is pressed one press at a time; latency is from the device
writing the press frame to the console's live stream handing over the alarm (as in
``bench.presses``). First idle, then under a flood from both sides of the gateway:

- a babbling serial device on the same gateway (a second call button sending battery
  heartbeats ``--babble`` times a second, every one forwarded as telemetry), so alarms share
  the gateway's uplink with a telemetry torrent;
- ``--homes`` simulated homes (``firmware_sim.fleet``) at ``--multiplier`` times the normal
  telemetry rate on the centre's broker, so alarms share the broker and the server's ingest.

Last line: ``flood_latency: idle_p99_ms=... flood_p99_ms=... ratio=...``; exit 1 if an alarm
was lost or doubled.

    .venv/bin/python -m bench.flood_latency [--presses 150] [--homes 100] [--multiplier 100]
        [--babble 200] [--postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from firmware_sim.fleet import Fleet, FleetConfig, HomeRates, gateway_ids
from firmware_sim.home import PressRecord
from firmware_sim.ports import PtyPort
from firmware_sim.serial_device import CallButton

from edge.serial.payloads import Heartbeat, KeyKind
from onebox.broker import Broker
from onebox.console_client import ConsoleClient, LiveEvent, LiveStream
from onebox.measure import DeliveryReport, correlate
from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, GatewayProcess, ServerProcess

GATEWAY_ID = "gw-flood-bench"
BUTTON = "call-button-bench"
BABBLER = "call-button-babbler"
GAP_S = 0.05  # between one press reaching the console and the next press


class Babbler:
    """A serial device that will not shut up: battery heartbeats at ``rate_hz``."""

    def __init__(self, device: CallButton, rate_hz: float) -> None:
        self._device = device
        self._interval_s = 1.0 / rate_hz
        self._stop = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, name="babbler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self._device.send(Heartbeat(80, False, False, 0), self._device.next_seq())
            self.sent += 1
            next_at += self._interval_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))


def press_one_at_a_time(button: CallButton, stream: LiveStream, count: int) -> list[PressRecord]:
    """Latency, not queueing: each press waits until the console has the one before."""
    records: list[PressRecord] = []
    for _ in range(count):
        press = button.press(KeyKind.EMERGENCY)
        records.append(PressRecord(BUTTON, press.seq, press.written_at))
        if not stream.wait_for(lambda events: correlate(records[-1:], events).lost == 0, 30):
            print(f"flood_latency: warning: press {press.seq} not at the console after 30 s")
        time.sleep(GAP_S)  # pacing, not waiting for something
    return records


def describe(name: str, report: DeliveryReport) -> str:
    return (
        f"flood_latency: {name} presses={report.raised} lost={report.lost}"
        f" duplicates={report.duplicates}"
        f" p50_ms={report.percentile(50):.1f} p99_ms={report.percentile(99):.1f}"
        f" max_ms={max(report.latencies_ms, default=float('nan')):.1f}"
    )


def legs(name: str, records: list[PressRecord], events: list[LiveEvent]) -> str:
    """Where the time goes, p50/p99 per leg: device -> gateway (the alarm's gateway_time),
    gateway -> centre (its received_at: the outbox, the uplink, the broker, the ingest lane's
    queue), centre -> console (the store's commit, the live stream). Same-host clocks."""
    alarms = {
        (e.data["alarm"]["device_id"], e.data["alarm"]["origin"].get("frame_seq")): (e, e.data)
        for e in events
        if e.type == "alarm.raised"
    }
    spans: dict[str, list[float]] = {
        "device_gateway": [],
        "gateway_centre": [],
        "centre_console": [],
    }
    for record in records:
        found = alarms.get((record.device_id, record.frame_seq))
        if found is None:
            continue
        event, data = found
        raised = datetime.fromisoformat(data["alarm"]["gateway_time"]).timestamp()
        stored = datetime.fromisoformat(data["alarm"]["received_at"]).timestamp()
        spans["device_gateway"].append((raised - record.written_at) * 1000)
        spans["gateway_centre"].append((stored - raised) * 1000)
        spans["centre_console"].append((event.received_at - stored) * 1000)
    return f"flood_latency: {name} legs " + " ".join(
        f"{leg}_p50/p99_ms={np.percentile(v, 50):.1f}/{np.percentile(v, 99):.1f}"
        for leg, v in spans.items()
        if v
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.flood_latency")
    parser.add_argument("--presses", type=int, default=150, help="presses idle, and again flooded")
    parser.add_argument("--homes", type=int, default=100, help="flooding simulated homes")
    parser.add_argument("--multiplier", type=float, default=100.0, help="x their telemetry")
    parser.add_argument("--babble", type=float, default=200.0, help="babbler heartbeats/s")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    with contextlib.ExitStack() as running:
        return run(args, running)


def run(args: argparse.Namespace, running: contextlib.ExitStack) -> int:
    """Start everything (each part stopped by ``running`` on the way out), measure, print."""
    workdir = Path(tempfile.mkdtemp(prefix="eldercare-flood-"))
    accounts = Accounts()
    accounts.for_gateway(GATEWAY_ID)
    homes = gateway_ids(args.homes, "flood-")
    broker = Broker(workdir / "mosquitto", accounts.broker_accounts()).start()
    running.callback(broker.stop)
    broker.add_accounts({gid: accounts.for_gateway(gid) for gid in homes})
    database_url = None
    if args.postgres:
        cluster = PostgresCluster(workdir / "pg", durable=True).start()
        running.callback(cluster.stop)
        database_url = cluster.url
    password = secrets.token_urlsafe(12)
    server = ServerProcess(
        workdir, broker, accounts, database_url=database_url, admin_password=password
    )
    running.callback(server.stop)
    server.start()
    ports = {BUTTON: PtyPort(workdir / "ttyBUTTON"), BABBLER: PtyPort(workdir / "ttyBABBLE")}
    for port in ports.values():
        running.callback(port.close)
    gateway = GatewayProcess(
        workdir,
        broker,
        accounts,
        gateway_id=GATEWAY_ID,
        home_id="home-flood-bench",
        serial_devices={device: str(port.link) for device, port in ports.items()},
        z2m_devices={},
    )
    running.callback(gateway.stop)
    gateway.start()
    console = ConsoleClient(server.url, "operator", password)
    running.callback(console.close)
    stream = LiveStream(server.url, console.token).start()
    running.callback(stream.stop)
    button = CallButton(ports[BUTTON], heartbeat_s=30)
    babbling = CallButton(ports[BABBLER], heartbeat_s=30)
    for device in (button, babbling):
        device.start()
        running.callback(device.stop)
    wait_for(lambda: button.link_up.is_set() and babbling.link_up.is_set(), 30, "link up")

    idle_presses = press_one_at_a_time(button, stream, args.presses)
    idle = correlate(idle_presses, stream.events)

    rates = HomeRates(heartbeat_s=30, multiplier=args.multiplier, alarm_multiplier=0)
    fleet = Fleet(FleetConfig(broker.host, broker.port, homes, accounts.for_gateway, rates=rates))
    babbler = Babbler(babbling, args.babble)
    with contextlib.ExitStack() as flood:
        fleet.start()
        flood.callback(fleet.stop)
        babbler.start()
        flood.callback(babbler.stop)
        wait_for(lambda: fleet.connected() == args.homes, 60, "the flooding homes connected")
        wait_for(
            lambda: fleet.ledger.sent["telemetry"] + babbler.sent > 1000, 60, "the flood under way"
        )
        started, before = time.monotonic(), fleet.ledger.sent["telemetry"] + babbler.sent
        flood_presses = press_one_at_a_time(button, stream, args.presses)
        flooded = correlate(flood_presses, stream.events)
        sent = fleet.ledger.sent["telemetry"] + babbler.sent - before
        rate = sent / (time.monotonic() - started)

    store = "postgresql" if args.postgres else "sqlite"
    print(
        f"flood_latency: store={store} homes={args.homes} multiplier={args.multiplier:g}"
        f" babble_hz={args.babble:g} telemetry_per_s_during_presses={rate:.0f}"
    )
    print(describe("idle", idle))
    print(legs("idle", idle_presses, stream.events))
    print(describe("flood", flooded))
    print(legs("flood", flood_presses, stream.events))
    idle99, flood99 = idle.percentile(99), flooded.percentile(99)
    ratio = flood99 / idle99
    print(f"flood_latency: goal flood p99 <= 2 x idle p99: {'met' if ratio <= 2 else 'NOT met'}")
    print(f"flood_latency: idle_p99_ms={idle99:.1f} flood_p99_ms={flood99:.1f} ratio={ratio:.2f}")
    clean = all(r.lost == 0 and r.duplicates == 0 for r in (idle, flooded))
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
