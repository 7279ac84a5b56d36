"""A device that goes silent is an alarm: a simulated call button stops talking and the centre
gets "device silent" within two heartbeat intervals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from firmware_sim.serial_device import CallButton

from onebox.broker import Broker
from onebox.net import wait_for
from onebox.stack import Accounts, GatewayProcess
from tests.system.conftest import Centre, SerialHome

INTERVAL_S = 2.0
CHECK_PERIOD_S = 1.0  # the gateway's loop looks at its devices once a second


def test_silent_call_button_raises_device_silent_within_two_intervals(
    serial_home: Callable[..., tuple[SerialHome, CallButton]], centre: Centre
) -> None:
    home, button = serial_home(
        CallButton, "silent", device_heartbeat_s=INTERVAL_S / 2, serial_heartbeat_s=INTERVAL_S
    )

    def silent_alarms() -> list[dict[str, object]]:
        return [
            a
            for a in centre.console.alarms(limit=1000)
            if a["device_id"] == home.device_id and a["kind"] == "device_silent"
        ]

    # Heartbeats twice an interval: no alarm over several intervals.
    assert not button.wait_for(lambda: False, 3 * INTERVAL_S)
    assert silent_alarms() == []

    button.stop()  # the battery dies
    wait_for(lambda: len(silent_alarms()) == 1, 20, "the device-silent alarm")
    [alarm] = silent_alarms()
    assert alarm["priority"] == 5
    last_heard = datetime.fromisoformat(str(alarm["device_time"]))
    raised = datetime.fromisoformat(str(alarm["gateway_time"]))
    delay = (raised - last_heard).total_seconds()
    assert 2 * INTERVAL_S <= delay <= 2 * INTERVAL_S + CHECK_PERIOD_S + 0.5


def test_killed_gateway_is_an_alarm_at_the_centre(
    tmp_path: Path, broker: Broker, accounts: Accounts, centre: Centre
) -> None:
    gateway_id = f"gw-killed-{centre.store}"
    broker.add_account(gateway_id, accounts.for_gateway(gateway_id))
    gateway = GatewayProcess(
        tmp_path,
        broker,
        accounts,
        gateway_id=gateway_id,
        home_id="home-killed",
        serial_devices={},
        z2m_devices={},
    ).start()

    def state() -> str | None:
        rows = [g for g in centre.console.get("/api/gateways") if g["id"] == gateway_id]
        return str(rows[0]["state"]) if rows else None

    try:
        wait_for(lambda: state() == "online", 20, "the gateway online")
        gateway.service.kill()  # power cut: no goodbye, only the broker's will
        wait_for(lambda: state() == "offline", 30, "the will at the centre")
        alarms = [
            a
            for a in centre.console.alarms(limit=1000)
            if a["gateway_id"] == gateway_id and a["kind"] == "gateway_offline"
        ]
        assert len(alarms) == 1
        assert alarms[0]["home_id"] == "home-killed"
    finally:
        gateway.stop()
