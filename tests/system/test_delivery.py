"""Nothing lost: with the centre down, a press is kept in the gateway's outbox and resent until
the centre, once back, stores it and answers; it arrives exactly once."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from firmware_sim.ports import PtyPort
from firmware_sim.serial_device import CallButton

from edge.serial.payloads import AckStage, KeyKind
from onebox.broker import Broker
from onebox.console_client import ConsoleClient
from onebox.net import wait_for
from onebox.stack import Accounts, GatewayProcess, ServerProcess


@pytest.fixture
def outage_rig(
    tmp_path: Path, broker: Broker, accounts: Accounts
) -> Iterator[tuple[ServerProcess, GatewayProcess, CallButton]]:
    gateway_id = "gw-outage"
    broker.add_account(gateway_id, accounts.for_gateway(gateway_id))
    server = ServerProcess(
        tmp_path, broker, accounts, admin_password=secrets.token_urlsafe(12), instance="outage"
    ).start()
    port = PtyPort(tmp_path / "ttyOUTAGE")
    gateway = GatewayProcess(
        tmp_path,
        broker,
        accounts,
        gateway_id=gateway_id,
        home_id="home-outage",
        serial_devices={"call-button-outage": str(port.link)},
        z2m_devices={},
        resend_interval_s=1.0,
    ).start()
    button = CallButton(port, heartbeat_s=5)
    button.start()
    try:
        assert button.link_up.wait(20), gateway.service.tail()
        yield server, gateway, button
    finally:
        button.stop()
        gateway.stop()
        server.stop()
        port.close()
    gateway.service.assert_clean()
    server.service.assert_clean()


def test_alarm_raised_while_centre_is_down_arrives_once_when_it_is_back(
    outage_rig: tuple[ServerProcess, GatewayProcess, CallButton],
) -> None:
    server, gateway, button = outage_rig
    server.stop()

    press = button.press(KeyKind.EMERGENCY)
    # The gateway has it on disk and says so; nobody at the centre has it yet.
    assert button.wait_for_stage(press, AckStage.RECEIVED, 10)
    assert not button.wait_for_stage(press, AckStage.AT_CENTRE, 2)

    server.start()  # same data directory and port: the centre is back
    assert button.wait_for_stage(press, AckStage.AT_CENTRE, 30), gateway.service.tail()
    console = ConsoleClient(server.url, "operator", server.service.env["SERVER_ADMIN_PASSWORD"])
    try:
        wait_for(lambda: len(console.alarms(limit=1000)) >= 1, 10, "the alarm at the centre")
        alarms = [a for a in console.alarms(limit=1000) if a["device_id"] == "call-button-outage"]
        assert len(alarms) == 1
        assert alarms[0]["origin"]["frame_seq"] == press.seq
    finally:
        console.close()
