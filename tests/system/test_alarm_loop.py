"""The spine on real components: a press travels device -> gateway -> broker -> server ->
console, and the operator's acknowledgement travels all the way back to the device.

Every test runs against SQLite and against PostgreSQL (the ``centre`` fixture's params).
"""

from __future__ import annotations

import json
from typing import Any

import paho.mqtt.client as mqtt

from edge.serial.payloads import Ack, AckStage, KeyKind
from onebox.broker import Broker
from onebox.console_client import LiveStream
from onebox.net import wait_for
from onebox.stack import Accounts
from protocol import (
    AlarmMessage,
    Channel,
    GatewayTopics,
    ReceiptMessage,
    decode_downlink,
    encode,
)
from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop
from tests.factories import alarm_message
from tests.system.conftest import Centre, Home


def _alarms_of(centre: Centre, device_id: str) -> list[dict[str, Any]]:
    return [a for a in centre.console.alarms(limit=1000) if a["device_id"] == device_id]


def test_press_reaches_console_and_acknowledgement_reaches_device(
    home: Home, centre: Centre, live: LiveStream
) -> None:
    press = home.button.press(KeyKind.EMERGENCY)

    assert live.wait_for(
        lambda events: any(
            e.type == "alarm.raised" and e.data["alarm"]["device_id"] == home.button_id
            for e in events
        ),
        20,
    ), home.gateway.service.tail()
    [alarm] = _alarms_of(centre, home.button_id)
    assert alarm["kind"] == "emergency_call"
    assert alarm["status"] == "open"
    assert alarm["gateway_id"] == home.gateway_id
    assert alarm["origin"] == {
        "transport": "serial",
        "device_kind": "call_button",
        "frame_seq": press.seq,
    }
    # The gateway told the device each step: stored locally, then stored at the centre.
    assert home.button.wait_for_stage(press, AckStage.AT_CENTRE, 10)
    assert AckStage.HELP_COMING not in press.stages  # nobody has taken it yet

    acknowledged = centre.console.acknowledge(alarm["id"])
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acknowledged_by"] == "operator"

    assert home.button.wait_for_stage(press, AckStage.HELP_COMING, 20), home.gateway.service.tail()
    assert Ack(press.seq, AckStage.HELP_COMING) in home.button.received
    assert live.wait_for(
        lambda events: any(
            e.type == "alarm.acknowledged" and e.data["alarm"]["id"] == alarm["id"] for e in events
        ),
        10,
    )
    # One press, one alarm, however often the device repeated the frame.
    assert len(_alarms_of(centre, home.button_id)) == 1


def test_zigbee2mqtt_emergency_raises_and_empty_action_does_nothing(
    home: Home, centre: Centre
) -> None:
    home.sos.press(clear_action=True)  # {"action":"emergency",...} then {"action":""}
    wait_for(lambda: len(_alarms_of(centre, home.sos_name)) == 1, 20, "the SOS alarm")

    # An empty action on its own: no alarm, no clear. A second press after it (same topic,
    # so ordered behind it) proves the empty action was processed in between.
    home.sos.network.publish(home.sos_name, {"action": ""})
    home.sos.press(clear_action=False)
    wait_for(lambda: len(_alarms_of(centre, home.sos_name)) == 2, 20, "the second SOS alarm")
    alarms = _alarms_of(centre, home.sos_name)
    assert [a["kind"] for a in alarms] == ["emergency_call", "emergency_call"]
    assert all(a["status"] == "open" for a in alarms)
    assert all(a["origin"]["transport"] == "zigbee2mqtt" for a in alarms)


class _GatewayClient:
    """Speaks MQTT as a gateway would, to put exact payloads on the wire."""

    def __init__(self, broker: Broker, accounts: Accounts, gateway_id: str) -> None:
        broker.add_account(gateway_id, accounts.for_gateway(gateway_id))
        endpoint = BrokerEndpoint(
            broker.host, broker.port, gateway_id, accounts.for_gateway(gateway_id)
        )
        self.topics = GatewayTopics(gateway_id)
        self.receipts: list[ReceiptMessage] = []
        self.client = new_client(f"test-{gateway_id}", endpoint)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe(self.topics.downlink_filter, qos=1)
        connect_in_background(self.client, endpoint, session_expiry_s=0)
        wait_for(self.client.is_connected, 10, "gateway client connection")

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        message = decode_downlink(msg.topic, msg.payload)
        if isinstance(message, ReceiptMessage):
            self.receipts.append(message)

    def publish(self, channel: Channel, payload: bytes) -> None:
        self.client.publish(self.topics.of(channel), payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        stop(self.client)


def _alarm(gateway_id: str) -> AlarmMessage:
    return alarm_message(gateway_id, device_id="call-button-x", home_id="home-x", frame_seq=7)


def test_malformed_payload_is_recorded_as_rejected_and_server_keeps_serving(
    broker: Broker, accounts: Accounts, centre: Centre
) -> None:
    gateway_id = f"gw-bad-{centre.store}"
    gw = _GatewayClient(broker, accounts, gateway_id)
    try:
        bad = {
            b"{not json": "not_json",
            json.dumps({"v": 99, "type": "alarm"}).encode(): "unsupported_version",
            json.dumps({"v": 1, "type": "alarm", "gateway_id": gateway_id}).encode(): "invalid",
        }
        for payload in bad:
            gw.publish(Channel.ALARM, payload)
        wait_for(
            lambda: len(_rejected(centre, gateway_id)) == len(bad), 20, "the rejections recorded"
        )
        recorded = {r["payload"].encode(): r for r in _rejected(centre, gateway_id)}
        for payload, reason in bad.items():
            assert recorded[payload]["reason"] == reason
            assert recorded[payload]["detail"]  # a reason a person can read
        # Still serving: a valid alarm after the garbage is stored and receipted.
        good = _alarm(gateway_id)
        gw.publish(Channel.ALARM, encode(good))
        wait_for(lambda: any(r.body.ref_id == good.id for r in gw.receipts), 20, "a receipt")
        assert centre.console.get(f"/api/alarms/{good.id}")["id"] == good.id
    finally:
        gw.close()


def _rejected(centre: Centre, gateway_id: str) -> list[dict[str, Any]]:
    rows = centre.console.get("/api/rejected-messages", limit=1000)
    return [r for r in rows if f"/{gateway_id}/" in r["topic"]]


def test_same_alarm_delivered_twice_is_stored_once(
    broker: Broker, accounts: Accounts, centre: Centre, live: LiveStream
) -> None:
    gateway_id = f"gw-dup-{centre.store}"
    gw = _GatewayClient(broker, accounts, gateway_id)
    try:
        alarm = _alarm(gateway_id)
        payload = encode(alarm)
        gw.publish(Channel.ALARM, payload)
        gw.publish(Channel.ALARM, payload)
        wait_for(lambda: len(gw.receipts) == 2, 20, "two receipts")
        # Both copies are answered (the first receipt may have been lost on the way), the
        # second one marked as a duplicate; the store and the console hold one alarm.
        assert [r.body.duplicate for r in gw.receipts] == [False, True]
        assert all(r.body.ref_id == alarm.id for r in gw.receipts)
        stored = [a for a in centre.console.alarms(limit=1000) if a["id"] == alarm.id]
        assert len(stored) == 1
        raised = [e for e in live.alarms_raised() if e.data["alarm"]["id"] == alarm.id]
        assert len(raised) == 1
    finally:
        gw.close()
