"""A responder's notification over MQTT on a real mosquitto with the centre's ACL: the server
publishes through its own broker connection; the responder's account reads its own topic and
never gets another responder's.

Quirk of mosquitto 2.0's acl_file: a ``read`` rule is checked when a message is delivered, not
when the client subscribes, so the SUBACK for another responder's topic may say granted (QoS 1)
even over MQTT v5; a broker that checks at subscribe time answers 0x87 (not authorised). Either
way nothing arrives, which is what the test proves: the other responder's notification is
published first on the same connection, so had it been delivered it would come first."""

from __future__ import annotations

import json
import queue
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from onebox.broker import Broker
from onebox.net import wait_for
from onebox.stack import Accounts
from protocol.mqtt import BrokerEndpoint, new_client
from server.centre import Centre
from server.core.config import ServerSettings
from server.crud.alarms import ingest_alarm
from server.crud.notify import deliveries_query
from server.db.engine import migrate
from server.dispatch.notifier import ResponderCall
from server.notify.channels import responder_account, responder_topic
from tests.factories import alarm_message
from tests.server.care_seed import responder

pytestmark = pytest.mark.system
ME, OTHER = 7, 8


class Subscriber:
    """A responder's app: subscribes, keeps SUBACK reason codes and received messages."""

    def __init__(self, broker: Broker, username: str, password: str) -> None:
        endpoint = BrokerEndpoint(broker.host, broker.port, username, password)
        self.client = new_client(f"app-{username}-{secrets.token_hex(3)}", endpoint)
        self.granted: queue.Queue[list[int]] = queue.Queue()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connected = threading.Event()
        self.client.on_connect = lambda *_a: self.connected.set()
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self.connected.wait(10)

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, codes: list[Any], _p: Any) -> None:
        self.granted.put([c.value for c in codes])

    def subscribe(self, topic: str) -> list[int]:
        self.client.subscribe(topic, qos=1)
        return self.granted.get(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def responder_password(broker: Broker) -> str:
    password = secrets.token_urlsafe(12)
    broker.add_account(responder_account(ME), password)
    return password


@pytest.fixture
def centre(tmp_path: Path, broker: Broker, accounts: Accounts) -> Iterator[Centre]:
    settings = ServerSettings(
        data_dir=tmp_path,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        mqtt_password=accounts.server,
        instance=f"notify-{secrets.token_hex(3)}",
        public_url="https://centre.example",
    )
    built = Centre(settings)
    migrate(built.engine)
    assert built.broker is not None
    built.broker.start()
    wait_for(built.broker.connected.is_set, 10, "the server's broker link")
    yield built
    built.broker.stop()


def stored_alarm(centre: Centre, at: datetime) -> str:
    """An alarm and the two responders on record (delivery records refer to both)."""
    message = alarm_message()
    with centre.sessions.begin() as session:
        for responder_id in (ME, OTHER):
            responder(session, f"Responder {responder_id}", "volunteer", 100, id=responder_id)
        assert ingest_alarm(session, message, at)
    return message.id


def test_responder_reads_own_notifications_only(
    centre: Centre, broker: Broker, responder_password: str
) -> None:
    app = Subscriber(broker, responder_account(ME), responder_password)
    try:
        assert app.subscribe(responder_topic(responder_account(ME))) == [1]
        assert app.subscribe(responder_topic(responder_account(OTHER))) in ([1], [0x87])
        at = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
        alarm_id = stored_alarm(centre, at)
        for responder_id in (OTHER, ME):
            centre.dispatch.notifier.call_responder(
                ResponderCall(
                    alarm_id, responder_id, 1, 0, "fall", "home-1", 0, at, "Elm St 4", 300.0
                )
            )
        topic, payload = app.messages.get(timeout=10)
        assert topic == responder_topic(responder_account(ME))
        got = json.loads(payload)
        assert (got["alarm_id"], got["responder_id"], got["kind"]) == (alarm_id, ME, "fall")
        assert got["address"] == "Elm St 4"
        assert got["accept_url"] == f"https://centre.example/responder/#alarm={alarm_id}"
        assert app.messages.empty()  # the other responder's notification never arrived
        with centre.sessions() as session:
            stored = session.scalars(deliveries_query(alarm_id=alarm_id)).all()
        assert {(d.responder_id, d.channel, d.attempt, d.outcome) for d in stored} == {
            (OTHER, "mqtt", 1, "delivered"),
            (ME, "mqtt", 1, "delivered"),
        }
        assert {d.target for d in stored if d.responder_id == ME} == {
            responder_topic(responder_account(ME))
        }
    finally:
        app.close()


def test_responder_cannot_publish_notifications(broker: Broker, responder_password: str) -> None:
    """A responder's account cannot fake a notification, not even on its own topic."""
    app = Subscriber(broker, responder_account(ME), responder_password)
    try:
        info = app.client.publish(responder_topic(responder_account(ME)), b"{}", qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published()  # PUBACK came back ...
        assert app.subscribe(responder_topic(responder_account(ME))) == [1]
        with pytest.raises(queue.Empty):
            app.messages.get(timeout=0.5)  # ... but mosquitto dropped the message
    finally:
        app.close()
