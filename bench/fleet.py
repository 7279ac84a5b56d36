"""A fleet of simulated homes against the real centre on this machine: does every alarm
arrive once, how fast are receipts, what uplink rate holds.

Starts mosquitto (production ACL, one account per simulated gateway) and the server
(SQLite, or PostgreSQL with ``--postgres``), runs ``firmware_sim.fleet`` for ``--seconds``,
waits for the last receipts, and checks the centre's alarm list against what was sent.

    .venv/bin/python -m bench.fleet [--homes 2000] [--seconds 60] [--multiplier 1]
        [--alarm-multiplier 1000] [--postgres]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

from firmware_sim.fleet import Fleet, FleetConfig, HomeRates, gateway_ids

from onebox.broker import Broker
from onebox.console_client import ConsoleClient
from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, ServerProcess


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.fleet")
    parser.add_argument("--homes", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--multiplier", type=float, default=1.0)
    parser.add_argument("--alarm-multiplier", type=float, default=1000.0)
    parser.add_argument("--heartbeat", type=float, default=30.0)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="eldercare-fleet-"))
    accounts = Accounts()
    ids = gateway_ids(args.homes, "fleet-")
    broker = Broker(workdir / "mosquitto", accounts.broker_accounts()).start()
    broker.add_accounts({gid: accounts.for_gateway(gid) for gid in ids})
    cluster = PostgresCluster(workdir / "pg").start() if args.postgres else None
    operator_password = secrets.token_urlsafe(12)
    server = ServerProcess(
        workdir,
        broker,
        accounts,
        database_url=cluster.url if cluster else None,
        admin_password=operator_password,
    )
    rates = HomeRates(
        heartbeat_s=args.heartbeat,
        multiplier=args.multiplier,
        alarm_multiplier=args.alarm_multiplier,
    )
    fleet = Fleet(
        FleetConfig(
            broker.host, broker.port, ids, accounts.for_gateway, rates=rates, shards=args.shards
        )
    )
    try:
        server.start()
        console = ConsoleClient(server.url, "operator", operator_password)
        started = time.monotonic()
        fleet.start()
        wait_for(lambda: fleet.connected() == args.homes, 120, "every home connected")
        connect_s = time.monotonic() - started
        time.sleep(args.seconds)  # the load runs for a fixed time: that is the measurement
        sent_before = sum(fleet.ledger.sent.values())
        load_s = time.monotonic() - started
        fleet.quiet()  # no new traffic while the last receipts come in
        try:
            wait_for(lambda: fleet.ledger.unconfirmed() == 0, 60, "the last receipts")
        except TimeoutError as err:
            print(f"bench: warning: {err}")
        fleet.stop()
        summary = fleet.summary()
        sent = {aid for aid, t in fleet.ledger.alarms.items()}
        at_centre = [
            a["id"]
            for a in console.every_alarm()
            if str(a["gateway_id"]).startswith("fleet-") and a["kind"] != "gateway_offline"
        ]
        print(
            f"bench: homes={args.homes} connect_all_s={connect_s:.1f}"
            f" expected_uplink_per_s={rates.messages_per_s() * args.homes:.1f}"
            f" measured_uplink_per_s={sent_before / load_s:.1f}"
        )
        print(
            f"bench: alarms_sent={len(sent)} alarms_at_centre={len(at_centre)}"
            f" duplicates_at_centre={len(at_centre) - len(set(at_centre))}"
            f" missing_at_centre={len(sent - set(at_centre))}"
        )
        print(summary.line("bench"))
        return 0 if summary.alarms_unconfirmed == 0 and set(at_centre) == sent else 1
    finally:
        fleet.stop()
        server.stop()
        broker.stop()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    raise SystemExit(main())
