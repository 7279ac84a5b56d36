"""``make chaos``: a long, seeded, randomized fault campaign on real components.

Starts mosquitto (persistence on), PostgreSQL, two server processes sharing the subscription,
a fleet of simulated homes (``firmware_sim.fleet``, alarms scaled up with its alarm
multiplier) and one real gateway process whose call button sits on a pluggable pty behind a
cuttable uplink. For ``--minutes`` it injects faults of every kind at random times
(``bench/chaos_faults.py``): gateway kill -9, broker kill and restart, a server kill -9, an
uplink partition, the serial cable pulled, a telemetry flood. Then it repairs everything,
waits for every alarm's receipt, reads the centre's database, and prints as its last line::

    chaos: alarms=K delivered=D lost=L duplicates=U faults=F max_delay_s=M

Exit status 1 on any loss or duplicate. ``--alarms`` and ``--minutes`` scale the campaign.
"""

from __future__ import annotations

import argparse
import random
import secrets
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from firmware_sim.faults import FaultLog, FaultyPort
from firmware_sim.fleet import Fleet, FleetConfig, HomeRates, gateway_ids
from firmware_sim.fleet.rates import ALARMS_PER_MONTH, MONTH_S
from firmware_sim.ports import PtyPort
from firmware_sim.serial_device import CallButton, Press
from sqlalchemy import create_engine, text

from bench.chaos_faults import Target, episodes, flood_fleet
from edge.serial.payloads import KeyKind
from onebox.broker import Broker
from onebox.net import wait_for
from onebox.partition import Partition
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, GatewayProcess, ServerProcess

HOLD_S = {  # how long each kind of fault lasts: (shortest, longest)
    "gateway_kill": (0.5, 4.0),
    "broker_restart": (1.0, 8.0),
    "server_kill": (0.5, 4.0),
    "partition": (1.0, 10.0),
    "serial_unplug": (0.5, 3.0),
    "telemetry_flood": (2.0, 8.0),
}
BUTTON = "call-chaos"


@dataclass(frozen=True)
class Outcome:
    alarms: int
    delivered: int
    lost: int
    duplicates: int
    max_delay_s: float


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--alarms", type=int, default=10_000, help="fleet alarms to raise")
    parser.add_argument("--minutes", type=float, default=8.0, help="length of the fault phase")
    parser.add_argument("--faults", type=int, default=110, help="fault episodes to inject")
    parser.add_argument("--homes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--press-every", type=float, default=2.0, help="real button, seconds")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="eldercare-chaos-"))
    print(f"chaos: workdir {workdir} seed {args.seed}", flush=True)
    started = time.monotonic()
    accounts = Accounts()
    broker = Broker(workdir / "mosquitto", accounts.broker_accounts()).start()
    cluster = PostgresCluster(workdir / "pg").start()
    try:
        outcome, faults = _campaign(args, workdir, accounts, broker, cluster)
    finally:
        broker.stop()
        cluster.stop()
    print(f"chaos: took {time.monotonic() - started:.0f} s", flush=True)
    print(
        f"chaos: alarms={outcome.alarms} delivered={outcome.delivered} lost={outcome.lost}"
        f" duplicates={outcome.duplicates} faults={faults} max_delay_s={outcome.max_delay_s:.1f}",
        flush=True,
    )
    return 0 if outcome.lost == 0 and outcome.duplicates == 0 else 1


def _campaign(
    args: argparse.Namespace,
    workdir: Path,
    accounts: Accounts,
    broker: Broker,
    cluster: PostgresCluster,
) -> tuple[Outcome, int]:
    ids = gateway_ids(args.homes, "chaos-")
    flood_ids = gateway_ids(50, "flood-")
    broker.add_accounts({gid: accounts.for_gateway(gid) for gid in [*ids, *flood_ids]})
    broker.add_account("gw-chaos", accounts.for_gateway("gw-chaos"))
    password = secrets.token_urlsafe(12)
    servers = [
        ServerProcess(
            workdir,
            broker,
            accounts,
            database_url=cluster.url,
            admin_password=password,
            instance=name,
        )
        for name in ("a", "b")
    ]
    log = FaultLog(path=workdir / "faults.jsonl")
    port = FaultyPort(PtyPort(workdir / "tty-chaos"), BUTTON, log)
    partition = Partition(broker.host, broker.port).start()
    gateway = GatewayProcess(
        workdir,
        broker,
        accounts,
        gateway_id="gw-chaos",
        home_id="home-chaos",
        serial_devices={BUTTON: str(workdir / "tty-chaos")},
        z2m_devices={},
        resend_interval_s=5.0,
    )
    gateway.service.env["GATEWAY_MQTT_PORT"] = str(partition.port)
    base_rate = sum(ALARMS_PER_MONTH.values()) / MONTH_S
    alarm_multiplier = args.alarms / (args.minutes * 60 * args.homes * base_rate)
    config = FleetConfig(
        broker.host,
        broker.port,
        ids,
        accounts.for_gateway,
        rates=HomeRates(heartbeat_s=30, alarm_multiplier=alarm_multiplier),
        resend_s=5.0,
        seed=args.seed,
    )
    fleet = Fleet(config)
    button = CallButton(port, heartbeat_s=5)
    presses: list[Press] = []
    stop_pressing = threading.Event()
    try:
        for server in servers:
            server.start()
        gateway.start()
        button.start()
        if not button.link_up.wait(30):
            raise RuntimeError(f"the gateway never answered the button: {gateway.service.tail()}")
        fleet.start()
        wait_for(lambda: fleet.connected() == args.homes, 120, "every home connected")
        presser = threading.Thread(
            target=_press_on, args=(button, presses, args.press_every, stop_pressing), daemon=True
        )
        presser.start()
        target = Target(broker, servers, gateway, partition, port, flood_fleet(config, 100.0), log)
        _inject(target, args)
        fleet.quiet()
        stop_pressing.set()
        presser.join()
        print(f"chaos: faults done, {len(fleet.ledger.alarms)} fleet alarms; draining", flush=True)
        wait_for(lambda: fleet.ledger.unconfirmed() == 0, 300, "every fleet alarm receipted")
        _wait_for_presses(cluster.url, presses, 120)
        outcome = _verdict(cluster.url, fleet, presses)
    finally:
        stop_pressing.set()
        fleet.stop()
        button.stop()
        gateway.stop()
        for server in servers:
            server.stop()
        partition.stop()
        port.close()
        log.close()
    for service in (gateway.service, *(s.service for s in servers)):
        problems = service.problems()
        if problems:
            print(f"chaos: {service.name} logged {len(problems)} problem lines", flush=True)
    return outcome, episodes(log)


def _press_on(
    button: CallButton, presses: list[Press], every_s: float, stop: threading.Event
) -> None:
    """The resident presses now and then, whatever is broken at the moment."""
    keys = (KeyKind.EMERGENCY, KeyKind.SERVICE, KeyKind.FAMILY)
    while not stop.wait(every_s):
        presses.append(button.press(keys[len(presses) % len(keys)]))


def _inject(target: Target, args: argparse.Namespace) -> None:
    """``args.faults`` episodes spread over ``args.minutes``, kinds in turn, random holds."""
    rng = random.Random(args.seed)  # a reproducible campaign, not crypto
    injectors = target.injectors()
    kinds = list(injectors)
    slot_s = args.minutes * 60 / args.faults
    start = time.monotonic()
    for n in range(args.faults):
        kind = kinds[n % len(kinds)] if n < len(kinds) else rng.choice(kinds)
        low, high = HOLD_S[kind]
        hold = min(rng.uniform(low, high), slot_s * 0.7)
        injectors[kind](hold)
        target.hold(max(0.0, start + (n + 1) * slot_s - time.monotonic()))
        if (n + 1) % 10 == 0:
            elapsed = time.monotonic() - start
            print(
                f"chaos: {n + 1} faults in {elapsed:.0f} s: {dict(target.log.by_kind())}",
                flush=True,
            )


def _rows(url: str) -> list[tuple[str, str, str | None, str, object, datetime]]:
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            result = db.execute(
                text(
                    "SELECT id, gateway_id, device_id, kind, message, received_at FROM alarms"
                    " WHERE kind <> 'gateway_offline'"
                )
            )
            return [tuple(row) for row in result]
    finally:
        engine.dispose()


def _frame_seq(message: object) -> int | None:
    if isinstance(message, dict):
        seq = message.get("body", {}).get("origin", {}).get("frame_seq")
        return int(seq) if seq is not None else None
    return None


def _wait_for_presses(url: str, presses: list[Press], timeout: float) -> None:
    wanted = {p.seq for p in presses}

    def all_there() -> bool:
        seqs = {_frame_seq(m) for _, _, d, _, m, _ in _rows(url) if d == BUTTON}
        return wanted <= seqs

    wait_for(all_there, timeout, "every press at the centre", step=1.0)


def _verdict(url: str, fleet: Fleet, presses: list[Press]) -> Outcome:
    rows = _rows(url)
    sent = fleet.ledger.alarms
    fleet_rows = Counter(r[0] for r in rows if r[1].startswith("chaos-"))
    lost = sum(1 for aid in sent if fleet_rows[aid] == 0)
    duplicates = sum(n for aid, n in fleet_rows.items() if aid not in sent)
    duplicates += sum(n - 1 for n in fleet_rows.values() if n > 1)
    delays = [t.receipt_at - t.raised_at for t in sent.values() if t.receipt_at is not None]
    by_seq: dict[int | None, list[datetime]] = {}
    for _, _, device, _, message, received in rows:
        if device == BUTTON:
            by_seq.setdefault(_frame_seq(message), []).append(received)
    pressed = {p.seq: p for p in presses}
    lost += sum(1 for seq in pressed if seq not in by_seq)
    duplicates += sum(len(v) - 1 for seq, v in by_seq.items() if seq in pressed)
    duplicates += sum(len(v) for seq, v in by_seq.items() if seq not in pressed)
    delays += [
        min(by_seq[seq]).timestamp() - p.written_at for seq, p in pressed.items() if seq in by_seq
    ]
    total = len(sent) + len(pressed)
    return Outcome(total, total - lost, lost, duplicates, max(delays, default=0.0))


if __name__ == "__main__":
    raise SystemExit(main())
