"""``make demo``: the whole system on this machine, on embedded defaults.

Starts mosquitto (own config, loopback, passwords, the production ACL), the server (SQLite and
the embedded telemetry store under var/demo), a gateway, and a simulated home from
firmware-sim, then prints the console URL and the operator login. With ``DEMO_SECONDS=N`` it
stops everything after N seconds and prints, as its last line::

    demo: alarms_raised=R alarms_at_console=C lost=L duplicates=D latency_p50_ms=X latency_p99_ms=Y

Latency runs from the moment the simulated device wrote the frame (or published the payload)
to the moment the console's live stream delivered the alarm to a subscribed client.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_sim.home import STOPPED_PRESSING, PressLog

from onebox import REPO
from onebox.broker import HOME_ACL, Broker
from onebox.console_client import ConsoleClient, LiveEvent, LiveStream
from onebox.measure import correlate
from onebox.net import free_port, port_open, wait_for
from onebox.process import Service
from onebox.stack import Accounts, GatewayProcess, ServerProcess, python_service
from server.centre import INITIAL_LOGIN_FILE

GATEWAY_ID = "gw-demo-0001"
HOME_ID = "home-0001"
CALL_BUTTON = "call-button-1"
SOS_BUTTON = "sos-button-1"
DRAIN_S = 15.0  # after the last press, how long in-flight alarms may take to arrive


def _say(text: str) -> None:
    print(f"demo: {text}", flush=True)


def _read_login(data_dir: Path) -> tuple[str, str]:
    fields = dict(
        line.split(": ", 1) for line in (data_dir / INITIAL_LOGIN_FILE).read_text().splitlines()
    )
    return fields["username"], fields["password"]


@dataclass
class DemoSystem:
    """Everything ``make demo`` starts, not yet started."""

    broker: Broker
    home_broker: Broker
    server: ServerProcess
    gateway: GatewayProcess
    sim: Service
    press_log: Path


def _build(workdir: Path, seconds: float) -> DemoSystem:
    accounts = Accounts()
    accounts.for_gateway(GATEWAY_ID)
    broker = Broker(workdir / "mosquitto", accounts.broker_accounts())
    # The home's own broker, where Zigbee2MQTT and the gateway meet.
    home_broker = Broker(workdir / "home-mosquitto", accounts.home_broker_accounts(), acl=HOME_ACL)
    port = 8000 if not port_open(8000) else free_port()
    server = ServerProcess(workdir, broker, accounts, port=port)
    pty_link = workdir / "dev" / "ttyCALL0"
    pty_link.parent.mkdir(parents=True, exist_ok=True)
    gateway = GatewayProcess(
        workdir,
        broker,
        accounts,
        gateway_id=GATEWAY_ID,
        home_id=HOME_ID,
        serial_devices={CALL_BUTTON: str(pty_link)},
        z2m_devices={SOS_BUTTON: "sos_button"},
        home_broker=home_broker,
    )
    press_log = workdir / "presses.jsonl"
    press_log.unlink(missing_ok=True)
    sim_args = {
        "--pty-link": str(pty_link),
        "--call-button-id": CALL_BUTTON,
        "--sos-name": SOS_BUTTON,
        "--press-interval": "3",
        "--press-for": str(seconds),  # then stop pressing, but stay on to receive the answers
        "--mqtt-host": home_broker.host,
        "--mqtt-port": str(home_broker.port),
        "--press-log": str(press_log),
    }
    sim = python_service(
        "firmware-sim",
        ["firmware_sim", "home", *(part for pair in sim_args.items() for part in pair)],
        workdir,
        {"Z2M_PASSWORD": accounts.zigbee2mqtt},
    )
    return DemoSystem(broker, home_broker, server, gateway, sim, press_log)


def main() -> int:
    seconds = float(os.environ.get("DEMO_SECONDS", "0") or 0)
    workdir = Path(os.environ.get("DEMO_DIR", REPO / "var" / "demo")).resolve()
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    system = _build(workdir, seconds)
    started: list[Service] = []
    watch: AlarmWatch | None = None
    try:
        watch = _start(system, started, seconds)
        _run(stopping, seconds, started, watch)
        if not seconds:
            system.sim.stop()  # Ctrl-C: the home stops; alarms already on their way still count
        wait_for(
            lambda: watch.poll() and _drained(system, watch, seconds),
            DRAIN_S,
            "in-flight alarms and answers",
        )
    except TimeoutError as err:
        _say(f"warning: {err}")
    except (RuntimeError, FileNotFoundError) as err:
        _say(f"error: {err}")
        return 1
    finally:
        if watch is not None:
            watch.close()
        for service in reversed(started):
            service.stop()
    if seconds and watch is not None:
        _say(
            f"operator_acknowledged={len(watch.acknowledged)}"
            f" help_coming_at_call_button={_help_coming(system.sim)}"
        )
    report = correlate(PressLog.read(system.press_log), watch.stream.events if watch else [])
    print(report.line("demo"), flush=True)
    return 0 if report.lost == 0 and report.duplicates == 0 else 1


def _start(system: DemoSystem, started: list[Service], seconds: float) -> AlarmWatch:
    """Start everything in dependency order; ``started`` collects what must be stopped."""
    broker, home_broker, server = system.broker, system.home_broker, system.server
    _say(f"starting mosquitto on 127.0.0.1:{broker.port}")
    broker.start()
    started.append(broker.service)  # type: ignore[arg-type]
    _say(f"starting the home's own broker (Zigbee2MQTT side) on 127.0.0.1:{home_broker.port}")
    home_broker.start()
    started.append(home_broker.service)  # type: ignore[arg-type]
    _say(f"starting the server (SQLite + embedded telemetry in {server.data_dir})")
    server.service.start()
    started.append(server.service)
    wait_for(server._ready, 60, "the server")
    username, password = _read_login(server.data_dir)
    console = ConsoleClient(server.url, username, password)
    stream = LiveStream(server.url, console.token).start()
    watch = AlarmWatch(stream, console, acknowledge=bool(seconds))
    _say(f"starting gateway {GATEWAY_ID} for {HOME_ID}")
    system.gateway.start()
    started.append(system.gateway.service)
    wait_for(lambda: _gateway_online(console), 30, "the gateway to come online")
    _say("starting the simulated home: call button on a pty, Zigbee2MQTT SOS button")
    system.sim.start()
    started.append(system.sim)
    print(flush=True)
    _say(f"console: {server.url}/   login: {username} / {password}")
    _say(f"logs: {system.server.service.log_path.parent}")
    if seconds:
        _say(f"running for {seconds:.0f} s, acknowledging each alarm as an operator would")
    else:
        _say("running until Ctrl-C; acknowledge alarms in the console")
    print(flush=True)
    return watch


class AlarmWatch:
    """Shows each alarm as the console gets it; with ``acknowledge``, acknowledges it as a
    person at the console would, so the answer travels back to the device."""

    def __init__(self, stream: LiveStream, console: ConsoleClient, *, acknowledge: bool) -> None:
        self.stream = stream
        self.console = console
        self.acknowledge = acknowledge
        self.shown = 0
        self.acknowledged: list[dict[str, Any]] = []

    def poll(self) -> bool:
        events: list[LiveEvent] = self.stream.alarms_raised()
        for event in events[self.shown :]:
            alarm = event.data["alarm"]
            _say(
                f"alarm at console: {alarm['kind']} from {alarm['device_id']} ({alarm['home_id']})"
            )
            if self.acknowledge:
                self.console.acknowledge(alarm["id"])
                self.acknowledged.append(alarm)
        self.shown = len(events)
        return True

    def close(self) -> None:
        self.stream.stop()
        self.console.close()


def _run(
    stopping: threading.Event, seconds: float, services: list[Service], watch: AlarmWatch
) -> None:
    deadline = time.monotonic() + seconds if seconds else float("inf")
    while not stopping.wait(0.2) and time.monotonic() < deadline:
        for service in services:
            service.check_alive()
        watch.poll()


def _help_coming(sim: Service) -> int:
    return sim.log_path.read_text(errors="replace").count("answered: HELP_COMING")


def _drained(system: DemoSystem, watch: AlarmWatch, seconds: float) -> bool:
    """Every press is at the console and, when the demo acts as operator, every serial alarm
    it acknowledged has reached its device as "help is coming"."""
    if seconds and STOPPED_PRESSING not in system.sim.log_path.read_text(errors="replace"):
        return False  # its last press may still be on the way into the press log
    if correlate(PressLog.read(system.press_log), watch.stream.events).lost:
        return False
    serial = [a for a in watch.acknowledged if a["origin"].get("frame_seq") is not None]
    return not seconds or _help_coming(system.sim) >= len(serial)


def _gateway_online(console: ConsoleClient) -> bool:
    return any(
        g["id"] == GATEWAY_ID and g["state"] == "online" for g in console.get("/api/gateways")
    )


if __name__ == "__main__":
    sys.exit(main())
