"""1,000 presses through the real chain: pty -> gateway -> mosquitto -> server -> live stream.

Prints delivered vs raised, duplicates, and latency percentiles, next to a baseline measured
in the same run on the same broker: a bare MQTT QoS 1 publish -> subscriber round trip, the
floor any MQTT-based design pays. Goal on this machine: p99 at most 100 ms device to console.

    .venv/bin/python -m bench.presses [--presses 1000] [--rate 20] [--postgres]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from firmware_sim.home import PressRecord
from firmware_sim.ports import PtyPort
from firmware_sim.serial_device import CallButton

from edge.serial.payloads import KeyKind
from onebox.broker import Broker
from onebox.console_client import ConsoleClient, LiveStream
from onebox.measure import correlate
from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, GatewayProcess, ServerProcess
from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop

GATEWAY_ID = "gw-bench-0001"
BUTTON = "call-button-bench"


def mqtt_baseline(broker: Broker, accounts: Accounts, count: int) -> list[float]:
    """Round trip of a QoS 1 publish to a subscriber on the same broker, in ms."""
    endpoint = BrokerEndpoint(
        broker.host, broker.port, GATEWAY_ID, accounts.for_gateway(GATEWAY_ID)
    )
    topic = f"eldercare/v1/{GATEWAY_ID}/up/event"
    # The gateway account may only read its downlink; the server account reads uplinks.
    server = BrokerEndpoint(broker.host, broker.port, "server", accounts.server)
    received: dict[int, float] = {}
    arrived = threading.Condition()

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with arrived:
            received[int(msg.payload)] = time.perf_counter()
            arrived.notify_all()

    subscriber = new_client("bench-baseline-sub", server)
    subscriber.on_message = on_message
    subscribed = threading.Event()
    subscriber.on_subscribe = lambda *_: subscribed.set()
    subscriber.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    publisher = new_client("bench-baseline-pub", endpoint)
    connect_in_background(subscriber, server, session_expiry_s=0)
    connect_in_background(publisher, endpoint, session_expiry_s=0)
    wait_for(lambda: subscribed.is_set() and publisher.is_connected(), 10, "baseline clients")
    latencies = []
    for i in range(count):
        sent = time.perf_counter()
        publisher.publish(topic, str(i).encode(), qos=1)
        with arrived:
            arrived.wait_for(lambda i=i: i in received, 5)  # type: ignore[misc]
        latencies.append((received[i] - sent) * 1000)
    stop(publisher)
    stop(subscriber)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.presses")
    parser.add_argument("--presses", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="presses per second")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="eldercare-bench-"))
    accounts = Accounts()
    accounts.for_gateway(GATEWAY_ID)
    broker = Broker(workdir / "mosquitto", accounts.broker_accounts()).start()
    cluster = PostgresCluster(workdir / "pg", durable=True).start() if args.postgres else None
    operator_password = secrets.token_urlsafe(12)
    server = ServerProcess(
        workdir,
        broker,
        accounts,
        database_url=cluster.url if cluster else None,
        admin_password=operator_password,
    )
    port = PtyPort(workdir / "ttyBENCH")
    gateway = GatewayProcess(
        workdir,
        broker,
        accounts,
        gateway_id=GATEWAY_ID,
        home_id="home-bench",
        serial_devices={BUTTON: str(port.link)},
        z2m_devices={},
    )
    button = CallButton(port, heartbeat_s=30)
    stream = None
    try:
        server.start()
        console = ConsoleClient(server.url, "operator", operator_password)
        stream = LiveStream(server.url, console.token).start()
        gateway.start()
        button.start()
        wait_for(button.link_up.is_set, 30, "the gateway to open the serial port")

        records: list[PressRecord] = []
        interval = 1.0 / args.rate
        started = time.monotonic()
        for i in range(args.presses):
            press = button.press(KeyKind.EMERGENCY)
            records.append(PressRecord(BUTTON, press.seq, press.written_at))
            pause = started + (i + 1) * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        try:
            wait_for(lambda: correlate(records, stream.events).lost == 0, 60, "all alarms")
        except TimeoutError as err:
            print(f"bench: warning: {err}")
        report = correlate(records, stream.events)
        baseline = np.array(mqtt_baseline(broker, accounts, 1000))
        store = "postgresql" if args.postgres else "sqlite"
        print(f"bench: store={store} presses={args.presses} rate={args.rate:g}/s")
        print(
            f"bench: baseline mqtt_qos1_round_trip p50_ms={np.percentile(baseline, 50):.2f}"
            f" p99_ms={np.percentile(baseline, 99):.2f}"
        )
        base50, base99 = np.percentile(baseline, 50), np.percentile(baseline, 99)
        print(
            f"bench: ratio_to_baseline p50={report.percentile(50) / base50:.1f}x"
            f" p99={report.percentile(99) / base99:.1f}x"
        )
        print(f"bench: goal p99 <= 100 ms: {'met' if report.percentile(99) <= 100 else 'NOT met'}")
        print(report.line("bench"))
        return 0 if report.lost == 0 and report.duplicates == 0 else 1
    finally:
        if stream is not None:
            stream.stop()
        button.stop()
        gateway.stop()
        server.stop()
        port.close()
        broker.stop()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    raise SystemExit(main())
