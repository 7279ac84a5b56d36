"""The backup centre's link carries alarms out and receipts and commands back, nothing else,
and says a refused connection once per use, however often paho retries. Its paho client is
never started: the callbacks are called as paho would call them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from gateway.backup import BackupCentre
from protocol import (
    CommandBody,
    CommandKind,
    CommandMessage,
    DownlinkMessage,
    HomeConfigBody,
    HomeConfigMessage,
    ReceiptBody,
    ReceiptMessage,
    encode,
)
from protocol.mqtt import BrokerEndpoint, new_client

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ALARM_ID = "b" * 32


def delivered(backup: BackupCentre, channel: str, payload: bytes) -> None:
    msg = mqtt.MQTTMessage(topic=f"eldercare/v1/gw-1/down/{channel}".encode())
    msg.payload = payload
    backup._on_message(None, None, msg)  # type: ignore[arg-type]


@pytest.fixture
def passed_on() -> list[DownlinkMessage]:
    return []


@pytest.fixture
def backup(passed_on: list[DownlinkMessage]) -> BackupCentre:
    endpoint = BrokerEndpoint("127.0.0.1", 1, "gw-1", "never-used")
    return BackupCentre(endpoint, "gw-1", passed_on.append, on_ready=lambda: None)


def test_receipts_and_commands_come_back_the_home_configuration_does_not(
    backup: BackupCentre, passed_on: list[DownlinkMessage]
) -> None:
    receipt = ReceiptMessage(gateway_id="gw-1", gateway_time=NOW, body=ReceiptBody(ref_id=ALARM_ID))
    command = CommandMessage(
        gateway_id="gw-1",
        gateway_time=NOW,
        body=CommandBody(kind=CommandKind.ALARM_HANDLED, alarm_id=ALARM_ID, operator="op"),
    )
    config = HomeConfigMessage(
        gateway_id="gw-1", gateway_time=NOW, body=HomeConfigBody(revision=3, home_id="home-1")
    )
    delivered(backup, "receipt", encode(receipt))
    delivered(backup, "command", encode(command))
    delivered(backup, "config", encode(config))
    assert [m.type for m in passed_on] == ["receipt", "command"]
    assert backup.receipts == 1


def test_nothing_is_published_while_the_link_is_not_up(backup: BackupCentre) -> None:
    assert not backup.publish_alarm(ALARM_ID, b"{}")  # not engaged: no client, nothing queued


def test_a_refusal_is_said_once_per_use(
    backup: BackupCentre, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.backup")
    refused = ReasonCode(PacketTypes.CONNACK, identifier=0x86)
    for _ in range(3):
        backup._on_connect(None, None, None, refused, None)  # type: ignore[arg-type]
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "Bad user name or password" in caplog.text
    assert not backup.connected.is_set()


def test_a_connection_that_completes_while_the_link_is_let_go_is_not_counted_as_up(
    backup: BackupCentre,
) -> None:
    """paho's network thread may read the CONNACK while :meth:`release` stops it: that late
    callback belongs to a link no longer in use. It used to mark the backup connected (the
    home's signal and the metrics read it) with no client to send on."""
    ready: list[str] = []
    backup._on_ready = lambda: ready.append("ready")
    old = new_client("gateway-gw-1", backup.endpoint)  # never started
    backup._client = old
    backup.release("the centre confirms messages again")
    backup._on_connect(old, None, None, ReasonCode(PacketTypes.CONNACK, identifier=0), None)
    assert not backup.connected.is_set()
    assert ready == []
    assert not backup.engaged
