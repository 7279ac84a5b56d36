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
from pathlib import Path

from firmware_sim.home import PressLog

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


def main() -> int:
    seconds = float(os.environ.get("DEMO_SECONDS", "0") or 0)
    workdir = Path(os.environ.get("DEMO_DIR", REPO / "var" / "demo")).resolve()
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())

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
    sim = python_service(
        "firmware-sim",
        [
            "firmware_sim",
            "home",
            "--pty-link",
            str(pty_link),
            "--call-button-id",
            CALL_BUTTON,
            "--sos-name",
            SOS_BUTTON,
            "--press-interval",
            "3",
            "--mqtt-host",
            home_broker.host,
            "--mqtt-port",
            str(home_broker.port),
            "--press-log",
            str(press_log),
        ],
        workdir,
        {"Z2M_PASSWORD": accounts.zigbee2mqtt},
    )
    started: list[Service] = []
    stream: LiveStream | None = None
    try:
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
        _say(f"starting gateway {GATEWAY_ID} for {HOME_ID}")
        gateway.start()
        started.append(gateway.service)
        wait_for(lambda: _gateway_online(console), 30, "the gateway to come online")
        _say("starting the simulated home: call button on a pty, Zigbee2MQTT SOS button")
        sim.start()
        started.append(sim)
        print(flush=True)
        _say(f"console: {server.url}/   login: {username} / {password}")
        _say(f"logs: {workdir / 'logs'}")
        _say("running for %s" % (f"{seconds:.0f} s" if seconds else "ever; Ctrl-C stops"))
        print(flush=True)
        _run(stopping, seconds, started, stream)
        sim.stop()
        presses = PressLog.read(press_log)
        wait_for(
            lambda: correlate(presses, stream.events).lost == 0, DRAIN_S, "in-flight alarms"
        ) if presses else None
    except TimeoutError as err:
        _say(f"warning: {err}")
    except (RuntimeError, FileNotFoundError) as err:
        _say(f"error: {err}")
        return 1
    finally:
        if stream is not None:
            stream.stop()
        for service in reversed(started):
            service.stop()
    report = correlate(PressLog.read(press_log), stream.events if stream else [])
    print(report.line("demo"), flush=True)
    return 0 if report.lost == 0 and report.duplicates == 0 else 1


def _run(
    stopping: threading.Event, seconds: float, services: list[Service], stream: LiveStream
) -> None:
    deadline = time.monotonic() + seconds if seconds else float("inf")
    shown = 0
    while not stopping.wait(0.2) and time.monotonic() < deadline:
        for service in services:
            service.check_alive()
        events: list[LiveEvent] = stream.alarms_raised()
        for event in events[shown:]:
            alarm = event.data["alarm"]
            _say(
                f"alarm at console: {alarm['kind']} from {alarm['device_id']} ({alarm['home_id']})"
            )
        shown = len(events)


def _gateway_online(console: ConsoleClient) -> bool:
    return any(
        g["id"] == GATEWAY_ID and g["state"] == "online" for g in console.get("/api/gateways")
    )


if __name__ == "__main__":
    sys.exit(main())
