"""``python -m firmware_sim home``: run a simulated home against a gateway.

``python -m firmware_sim scenario FILE.toml``: play a scripted day (docs/scenarios.md).

``python -m firmware_sim fleet --homes 2000``: simulated homes for load tests of the centre.

The call button is served on a pseudo-terminal (``--pty-link PATH``: the gateway opens PATH)
or over TCP like ser2net (``--serial-tcp HOST:PORT``: the gateway opens socket://HOST:PORT).
The SOS button publishes to the broker Zigbee2MQTT would use.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from firmware_sim.fleet import cli as fleet_cli
from firmware_sim.home import PressLog, SimulatedHome
from firmware_sim.ports import DevicePort, PtyPort, TcpPort
from firmware_sim.scenario import cli as scenario_cli
from firmware_sim.serial_device import CallButton
from firmware_sim.zigbee import SosButton, Zigbee2MqttNetwork
from protocol.mqtt import BrokerEndpoint


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="firmware_sim")
    sub = parser.add_subparsers(dest="command", required=True)
    home = sub.add_parser("home", help="a call button and an SOS button pressing now and then")
    serial_to = home.add_mutually_exclusive_group()
    serial_to.add_argument("--pty-link", type=Path, help="publish the button's pty at this path")
    serial_to.add_argument("--serial-tcp", metavar="HOST:PORT", help="serve the button over TCP")
    home.add_argument("--call-button-id", default="call-button-1")
    home.add_argument("--press-interval", type=float, default=3.0, help="seconds between presses")
    home.add_argument(
        "--press-for", type=float, default=0.0, help="stop pressing after this many seconds"
    )
    home.add_argument("--mqtt-host", default="127.0.0.1")
    home.add_argument("--mqtt-port", type=int, default=1883)
    home.add_argument("--mqtt-username", default="zigbee2mqtt")
    home.add_argument(
        "--mqtt-password-env",
        default="Z2M_PASSWORD",
        help="name of the environment variable holding the password",
    )
    home.add_argument("--sos-name", default="sos-button-1", help="Zigbee2MQTT friendly name")
    home.add_argument("--no-zigbee", action="store_true")
    home.add_argument(
        "--press-log",
        type=Path,
        help="append one JSON line per press (device, frame_seq, written_at)",
    )
    scenario_cli.add_parser(sub)
    fleet_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = _parser().parse_args(argv)
    if args.command == "scenario":
        return scenario_cli.main(args)
    if args.command == "fleet":
        return fleet_cli.main(args)
    return _home(args)


def _home(args: argparse.Namespace) -> int:
    port: DevicePort | None = None
    if args.pty_link:
        port = PtyPort(args.pty_link)
    elif args.serial_tcp:
        host, _, number = args.serial_tcp.rpartition(":")
        port = TcpPort(host, int(number))
    button = CallButton(port) if port else None
    network = sos = None
    if not args.no_zigbee:
        password = os.environ.get(args.mqtt_password_env, "")
        if not password:
            print(f"firmware_sim: set {args.mqtt_password_env}", file=sys.stderr)
            return 2
        network = Zigbee2MqttNetwork(
            BrokerEndpoint(args.mqtt_host, args.mqtt_port, args.mqtt_username, password)
        )
        network.start()
        sos = SosButton(network, args.sos_name)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    if network and sos and network.connected.wait(10):
        sos.announce()
    if button:
        button.start()
        # Opening a port flushes its input: press only once the host has answered a heartbeat.
        if not button.link_up.wait(60):
            print("firmware_sim: no gateway answered on the serial line", file=sys.stderr)
    home = SimulatedHome(
        (args.call_button_id, button) if button else None,
        sos,
        press_interval_s=args.press_interval,
        press_for_s=args.press_for,
    )
    if args.press_log:
        home.on_press = PressLog(args.press_log).write
    home.start()
    stopping.wait()
    home.stop()
    if button:
        button.stop()
    if port:
        port.close()
    if network:
        network.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
