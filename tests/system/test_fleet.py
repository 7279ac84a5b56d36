"""A fleet of simulated homes against the real centre (mosquitto with the production ACL, the
server process): every alarm reaches the centre exactly once and is confirmed to its home."""

from __future__ import annotations

import itertools

from firmware_sim.fleet import HomeRates

from onebox.broker import Broker
from onebox.net import wait_for
from onebox.stack import Accounts
from protocol import AlarmKind
from tests.system.conftest import Centre, start_fleet

HOMES = 50
KINDS = (AlarmKind.EMERGENCY_CALL, AlarmKind.SERVICE_REQUEST, AlarmKind.FALL)


def test_fifty_homes_deliver_every_alarm_once(
    broker: Broker, accounts: Accounts, centre: Centre
) -> None:
    fleet = start_fleet(
        broker,
        accounts,
        HOMES,
        f"fleet-{centre.store[:2]}-",
        rates=HomeRates(heartbeat_s=5),
        resend_s=2.0,
        seed=4,
    )
    ids = fleet.config.gateway_ids
    try:
        wait_for(lambda: fleet.connected() == HOMES, 30, "every home connected")
        for gid, kind in itertools.product(ids, KINDS):
            fleet.raise_alarm(gid, kind)
        wait_for(
            lambda: (
                len(fleet.ledger.alarms) >= HOMES * len(KINDS) and fleet.ledger.unconfirmed() == 0
            ),
            60,
            "a receipt for every alarm",
        )
    finally:
        fleet.stop()

    summary = fleet.summary()
    sent = {aid for aid, track in fleet.ledger.alarms.items() if track.gateway_id in ids}
    at_centre = [
        a["id"]
        for a in centre.console.alarms(limit=1000)
        if a["gateway_id"] in ids and a["kind"] != "gateway_offline"
    ]
    assert sorted(at_centre) == sorted(sent)  # each alarm once, none invented
    assert summary.alarms_raised == len(sent) >= HOMES * len(KINDS)
    assert summary.alarms_unconfirmed == 0
    assert summary.sent["status"] >= HOMES  # every home said it was online
    assert summary.latency_p99_ms < 10_000
    gateways = {g["id"]: g for g in centre.console.get("/api/gateways")}
    assert set(ids) <= set(gateways)
