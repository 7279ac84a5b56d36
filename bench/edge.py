"""How many device events the edge layer sustains on one core, over serial and over MQTT,
against what a real family-care-bed kit produces.

Serial: realistic frames (a wearable's 50-sample SAMPLES frames, heartbeats, key presses) are
written to a real pseudo-terminal and read by the real ``SerialLink``; the baseline in the same
run is the same bytes read off the same kind of pty with no decoding at all.

MQTT: Zigbee2MQTT payloads of every Zigbee kind, from many devices, go through a real mosquitto
into the real ``Zigbee2MqttBridge``; the baseline is a bare paho subscriber receiving the same
messages on the same broker. They are published at QoS 0, Zigbee2MQTT's default: at QoS 1 the
test broker's save-on-every-change persistence (there to survive SIGKILL) caps both paths at a
few hundred messages a second, which measures the disk, not the edge.

A kit's rate: a 50 Hz wearable sends one 50-sample frame a second; a call button a heartbeat
every 150 s; a home's ~10 Zigbee sensors together a few reports a minute (Ordonez house A:
about 30 sensor events a day, plus hourly check-ins). About 1.1 messages a second per kit.

    .venv/bin/python -m bench.edge [--frames 20000] [--messages 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from firmware_sim.ports import PtyPort

from edge.devices import REGISTRY
from edge.events import DeviceRef, EdgeEvent
from edge.flood import FloodGate
from edge.serial.link import SerialLink
from edge.serial.payloads import (
    Heartbeat,
    KeyKind,
    KeyPress,
    SampleBatch,
    SensorKind,
    to_frame,
)
from edge.zigbee2mqtt.bridge import Zigbee2MqttBridge
from onebox.broker import HOME_ACL, Broker
from onebox.net import wait_for
from onebox.stack import Accounts
from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop

KIT_MESSAGES_PER_S = 1.0 + 1 / 150 + 0.1
UNLIMITED = FloodGate(rate_per_s=1e12, burst=1e12)  # the bench measures capacity, not policy


class EventCount:
    """A sink that counts events and lets the bench wait for a number of them."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def __call__(self, event: EdgeEvent) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.count >= count, timeout)


def serial_stream(frames: int) -> tuple[bytes, int]:
    """``frames`` frames as a pendant sends them: mostly samples, a heartbeat and a press now
    and then. Returns the bytes and the number of samples in them."""
    parts, samples = [], 0
    sample = ((0, 0, 1000),) * 50
    for seq in range(frames):
        if seq % 100 == 99:
            payload: Any = KeyPress(KeyKind.SERVICE, 0)
        elif seq % 50 == 49:
            payload = Heartbeat(80, False, False, seq)
        else:
            payload = SampleBatch(SensorKind.ACCELEROMETER, seq * 1000, (0,) + (200,) * 49, sample)
            samples += 50
        parts.append(to_frame(payload, seq & 0xFFFF).encode())
    return b"".join(parts), samples


def _write_all(port: PtyPort, data: bytes) -> None:
    for i in range(0, len(data), 4096):
        port.write(data[i : i + 4096])


def bench_serial(workdir: Path, frames: int) -> tuple[float, float, int]:
    """(decoded frames/s, raw-read frames/s baseline, samples) through real ptys."""
    data, samples = serial_stream(frames)
    raw_port = PtyPort(workdir / "tty-raw")
    received = 0
    done = threading.Event()

    def drain(fd: int) -> None:
        nonlocal received
        try:
            while received < len(data):
                received += len(os.read(fd, 65536))
        finally:
            os.close(fd)
            done.set()

    fd = os.open(raw_port.link, os.O_RDONLY | os.O_NOCTTY)  # open before any byte flows
    reader = threading.Thread(target=drain, args=(fd,))
    reader.start()
    started = time.perf_counter()
    _write_all(raw_port, data)
    done.wait(120)
    raw_s = time.perf_counter() - started
    reader.join()
    raw_port.close()

    port = PtyPort(workdir / "tty-link")
    events = EventCount()
    link = SerialLink(DeviceRef("pendant", "fall_pendant", "serial"), str(port.link), events)
    link._gate = UNLIMITED
    link.start()
    wait_for(link.connected.is_set, 10, "the serial link to open the pty")
    events.wait_for(1, 5)  # the "online" event
    started = time.perf_counter()
    _write_all(port, data)
    events.wait_for(1 + frames, 120)
    decoded_s = time.perf_counter() - started
    link.stop()
    port.close()
    return frames / decoded_s, frames / raw_s, samples


def zigbee_messages(count: int) -> tuple[list[tuple[str, bytes]], int]:
    """Payloads of every Zigbee kind, spread over 500 devices, from their recorded examples;
    and how many events they decode to."""
    kinds = REGISTRY.on("zigbee2mqtt")
    messages, events = [], 0
    for i in range(count):
        kind = kinds[i % len(kinds)]
        example = next(
            e for e in kind.examples if isinstance(e.message, dict) and e.expect and
            e.expect[0][0] not in ("error", "problem")
        )  # fmt: skip
        messages.append((f"dev-{kind.name}-{i % 500}", json.dumps(example.message).encode()))
        events += len(example.expect)
    return messages, events


def bench_mqtt(workdir: Path, count: int) -> tuple[float, float]:
    """(bridge messages/s, bare subscriber messages/s) through a real mosquitto."""
    accounts = Accounts()
    broker = Broker(workdir / "mosquitto", accounts.home_broker_accounts(), acl=HOME_ACL).start()
    try:
        messages, expected_events = zigbee_messages(count)
        z2m = BrokerEndpoint(broker.host, broker.port, "zigbee2mqtt", accounts.zigbee2mqtt)
        gateway = BrokerEndpoint(broker.host, broker.port, "gateway", accounts.home_gateway)
        publisher = new_client("bench-z2m", z2m)
        connect_in_background(publisher, z2m, session_expiry_s=0)
        wait_for(publisher.is_connected, 10, "the publisher")

        def publish_all() -> None:
            infos = [publisher.publish(f"zigbee2mqtt/{n}", p, qos=0) for n, p in messages]
            for info in infos:
                info.wait_for_publish(60)

        raw = _bare_subscriber_rate(gateway, count, publish_all)
        names = {name for name, _ in messages}
        devices = {"probe": DeviceRef("probe", "motion_sensor", "zigbee2mqtt")}
        for name in names:
            kind = name.removeprefix("dev-").rsplit("-", 1)[0]
            devices[name] = DeviceRef(name, kind, "zigbee2mqtt")
        events = EventCount()
        bridge = Zigbee2MqttBridge(gateway, devices, events, client_id="bench-bridge")
        bridge._gates = _Unlimited()
        bridge.start()
        # Subscribed once a probe's report comes through.
        probe = b'{"occupancy": true}'
        wait_for(
            lambda: publisher.publish("zigbee2mqtt/probe", probe, qos=1) and events.count > 0,
            10,
            "the bridge to subscribe",
        )
        events.wait_for(10**9, 0.2)  # stragglers of the probe, not measured
        before = events.count
        started = time.perf_counter()
        publish_all()
        events.wait_for(before + expected_events, 120)
        bridge_s = time.perf_counter() - started
        bridge.stop()
        stop(publisher)
        return count / bridge_s, raw
    finally:
        broker.stop()


class _Unlimited(dict[str, FloodGate]):
    def setdefault(self, key: str, default: FloodGate | None = None) -> FloodGate:
        return UNLIMITED


def _bare_subscriber_rate(
    endpoint: BrokerEndpoint, count: int, publish_all: Callable[[], None]
) -> float:
    got = 0
    arrived = threading.Condition()

    def on_message(_c: mqtt.Client, _u: Any, _m: mqtt.MQTTMessage) -> None:
        nonlocal got
        with arrived:
            got += 1
            arrived.notify_all()

    subscribed = threading.Event()
    client = new_client("bench-bare", endpoint)
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_connect = lambda c, *_: c.subscribe("zigbee2mqtt/#", qos=1)
    connect_in_background(client, endpoint, session_expiry_s=0)
    wait_for(subscribed.is_set, 10, "the bare subscriber")
    started = time.perf_counter()
    publish_all()
    with arrived:
        arrived.wait_for(lambda: got >= count, 120)
    elapsed = time.perf_counter() - started
    stop(client)
    return count / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.edge")
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="eldercare-bench-edge-"))
    serial_rate, serial_raw, samples = bench_serial(workdir, args.frames)
    print(
        f"edge: serial frames={args.frames} decoded_per_s={serial_rate:,.0f}"
        f" samples_per_s={serial_rate * samples / args.frames:,.0f}"
        f" baseline_raw_read_per_s={serial_raw:,.0f} ratio={serial_rate / serial_raw:.2f}"
    )
    mqtt_rate, mqtt_raw = bench_mqtt(workdir, args.messages)
    print(
        f"edge: zigbee2mqtt messages={args.messages} decoded_per_s={mqtt_rate:,.0f}"
        f" baseline_bare_subscriber_per_s={mqtt_raw:,.0f} ratio={mqtt_rate / mqtt_raw:.2f}"
    )
    print(f"edge: one kit sends about {KIT_MESSAGES_PER_S:.1f} messages/s")
    print(
        f"edge: serial_per_s={serial_rate:.0f} mqtt_per_s={mqtt_rate:.0f}"
        f" kits_per_core_serial={serial_rate / KIT_MESSAGES_PER_S:.0f}"
        f" kits_per_core_mqtt={mqtt_rate / KIT_MESSAGES_PER_S:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
