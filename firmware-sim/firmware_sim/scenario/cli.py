"""``python -m firmware_sim scenario FILE.toml``: play a scripted day against a real broker.

``--dry-run`` connects nowhere: it prints every action and every Zigbee2MQTT message with its
simulated time, as fast as it goes. ``--gateway-config`` prints the gateway settings
(``GATEWAY_Z2M_DEVICES``, ``GATEWAY_Z2M_ROOMS``, ``GATEWAY_SERIAL_DEVICES``) for the
scenario's devices, so a gateway can be started to match.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

from firmware_sim.faults import FaultLog
from firmware_sim.scenario.format import ScenarioError
from firmware_sim.scenario.load import Scenario, load
from firmware_sim.scenario.run import RunOptions, run_scenario
from firmware_sim.timeline import TimedAction
from firmware_sim.zigbee import Zigbee2MqttNetwork
from firmware_sim.zigbee_record import RecordedMessage, RecordingNetwork
from protocol.mqtt import BrokerEndpoint


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("scenario", help="play a scenario file (docs/scenarios.md)")
    cmd.add_argument("file", type=Path)
    cmd.add_argument("--z2m-host", default="127.0.0.1", help="the home's broker")
    cmd.add_argument("--z2m-port", type=int, default=1883)
    cmd.add_argument("--z2m-username", default="zigbee2mqtt")
    cmd.add_argument(
        "--z2m-password-env", default="Z2M_PASSWORD", help="variable with the password"
    )
    cmd.add_argument("--base-topic", default="zigbee2mqtt")
    cmd.add_argument(
        "--speed", type=float, help="simulated seconds per real second ('inf': no waits)"
    )
    cmd.add_argument("--fault-log", type=Path, help="append one JSON line per injected fault")
    cmd.add_argument("--serial-heartbeat", type=float, default=30.0, help="seconds, real time")
    cmd.add_argument(
        "--dry-run", action="store_true", help="print what would happen, connect nowhere"
    )
    cmd.add_argument("--gateway-config", action="store_true", help="print gateway settings, exit")


def gateway_config(scenario: Scenario) -> dict[str, str]:
    zigbee = [d for d in scenario.devices if d.resolved_transport == "zigbee2mqtt"]
    serial = [d for d in scenario.devices if d.resolved_transport == "serial"]
    ports = {d.name: (d.port or "").removeprefix("pty:") for d in serial}
    return {
        "GATEWAY_Z2M_DEVICES": json.dumps({d.name: d.kind for d in zigbee}),
        "GATEWAY_Z2M_ROOMS": json.dumps({d.name: d.room for d in zigbee if d.room}),
        "GATEWAY_SERIAL_DEVICES": json.dumps(
            {
                n: f"socket://{p.removeprefix('tcp:')}" if p.startswith("tcp:") else p
                for n, p in ports.items()
            }
        ),
    }


def main(args: argparse.Namespace) -> int:
    try:
        scenario = load(args.file)
    except ScenarioError as err:
        print(f"firmware_sim: {err}", file=sys.stderr)
        return 2
    if args.gateway_config:
        for name, value in gateway_config(scenario).items():
            print(f"{name}='{value}'")
        return 0
    faults = FaultLog(path=args.fault_log)
    options = RunOptions(speed=args.speed, serial_heartbeat_s=args.serial_heartbeat)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: options.stop.set())
    if args.dry_run:
        return _dry_run(scenario, options, faults)
    password = os.environ.get(args.z2m_password_env, "")
    if not password:
        print(f"firmware_sim: set {args.z2m_password_env}", file=sys.stderr)
        return 2
    endpoint = BrokerEndpoint(args.z2m_host, args.z2m_port, args.z2m_username, password)
    network = Zigbee2MqttNetwork(endpoint, base_topic=args.base_topic)
    network.start()
    try:
        if not network.connected.wait(10):
            print(f"firmware_sim: no broker at {args.z2m_host}:{args.z2m_port}", file=sys.stderr)
            return 1
        result = run_scenario(scenario, network, options, faults)
    finally:
        network.stop()
        faults.close()
    print(f"scenario: actions={result.actions} faults={sum(result.faults.values())}")
    return 0 if not result.unanswered_serial else 1


def _dry_run(scenario: Scenario, options: RunOptions, faults: FaultLog) -> int:
    """Every action and message with the simulated local time it would happen at."""
    now = {"s": 0.0}

    def stamp() -> str:
        return (scenario.meta.start + timedelta(seconds=now["s"])).isoformat(sep=" ")

    def on_action(action: TimedAction) -> None:
        now["s"] = action.at_s
        print(f"{stamp()}  * {action.what}")

    def on_message(message: RecordedMessage) -> None:
        print(f"{stamp()}    {message.topic} {message.payload}")

    options.speed = math.inf
    options.dry_run = True
    options.on_action = on_action
    options.on_time = lambda at_s: now.update(s=at_s)
    options.note = lambda text: print(f"{stamp()}    {text}")
    network = RecordingNetwork(on_message=on_message)
    result = run_scenario(scenario, network, options, faults)
    print(
        f"scenario: actions={result.actions} messages={len(network.messages)}"
        f" faults={sum(result.faults.values())}"
    )
    return 0
