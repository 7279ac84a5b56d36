"""``python -m firmware_sim fleet --homes 2000``: simulated homes against a centre's broker.

Every simulated gateway logs in with its own account (the centre's ACL confines a gateway to
its own topics), all with the password in ``--password-env``. ``--print-accounts`` prints the
``user:password`` lines to provision them (``mosquitto_passwd -U FILE`` hashes such a file).
Runs for ``--seconds`` (or until Ctrl-C), then waits up to ``--drain`` seconds for the last
receipts and prints one summary line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from firmware_sim.fleet.fleet import Fleet, FleetConfig, gateway_ids
from firmware_sim.fleet.rates import HomeRates


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("fleet", help="thousands of simulated homes for load tests")
    cmd.add_argument("--homes", type=int, default=1000)
    cmd.add_argument("--host", default="127.0.0.1", help="the centre's broker")
    cmd.add_argument("--port", type=int, default=1883)
    cmd.add_argument("--prefix", default="fleet-", help="gateway ids are PREFIX00001 ...")
    cmd.add_argument("--password-env", default="FLEET_PASSWORD")
    cmd.add_argument("--seconds", type=float, default=0.0, help="0: until interrupted")
    cmd.add_argument("--drain", type=float, default=30.0, help="wait for receipts at the end")
    cmd.add_argument("--multiplier", type=float, default=1.0, help="x telemetry, events, alarms")
    cmd.add_argument("--alarm-multiplier", type=float, default=1.0, help="x alarms on top")
    cmd.add_argument("--heartbeat", type=float, default=30.0, help="status interval, seconds")
    cmd.add_argument("--resend", type=float, default=10.0, help="alarm resend interval, seconds")
    cmd.add_argument("--shards", type=int, default=2, help="threads driving the connections")
    cmd.add_argument("--ramp", type=float, default=500.0, help="connections per second per shard")
    cmd.add_argument("--seed", type=int, default=0)
    cmd.add_argument("--print-accounts", action="store_true")


def main(args: argparse.Namespace) -> int:
    ids = gateway_ids(args.homes, args.prefix)
    password = os.environ.get(args.password_env, "")
    if not password:
        print(f"firmware_sim: set {args.password_env}", file=sys.stderr)
        return 2
    if args.print_accounts:
        print("\n".join(f"{gid}:{password}" for gid in ids))
        return 0
    rates = HomeRates(
        heartbeat_s=args.heartbeat,
        multiplier=args.multiplier,
        alarm_multiplier=args.alarm_multiplier,
    )
    config = FleetConfig(
        args.host,
        args.port,
        ids,
        lambda _gid: password,
        rates=rates,
        resend_s=args.resend,
        shards=args.shards,
        ramp_per_s=args.ramp,
        seed=args.seed,
    )
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    expected = rates.messages_per_s() * args.homes
    print(f"fleet: homes={args.homes} expected_uplink_per_s={expected:.1f}", flush=True)
    fleet = Fleet(config).start()
    stopping.wait(args.seconds or None)
    fleet.quiet()
    deadline = time.monotonic() + args.drain
    while fleet.ledger.unconfirmed() and time.monotonic() < deadline:
        time.sleep(0.2)  # the last receipts: a real wait on the outside world
    fleet.stop()
    print(fleet.summary().line(), flush=True)
    return 0 if fleet.summary().alarms_unconfirmed == 0 else 1
