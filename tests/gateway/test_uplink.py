"""The uplink's choice of centre, with an injected clock and a stand-in for the backup link:
the backup is taken into use when the centre leaves an alarm unconfirmed for
``backup_after_s`` or its broker refuses the gateway, gets only alarms, and is let go once the
centre confirms again. A refused connection is said once per episode.

The paho clients are never started: their callbacks are called as paho would call them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from gateway.outbox import Outbox
from gateway.uplink import Uplink
from protocol import Channel, DownlinkMessage, ReceiptBody, ReceiptMessage, encode
from protocol.mqtt import BrokerEndpoint, new_client
from tests.gateway.stubs import Clock

AFTER_S = 180.0
NOWHERE = BrokerEndpoint("127.0.0.1", 1, "gw-1", "never-used")


@dataclass
class FakeBackup:
    """Records what the uplink asks of the backup link."""

    engaged: bool = False
    connected: threading.Event = field(default_factory=threading.Event)
    sent: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    engagements: int = 0
    receipts: int = 0

    def engage(self, why: str) -> None:
        self.engaged = True
        self.engagements += 1
        self.reasons.append(why)

    def release(self, why: str) -> None:
        self.engaged = False
        self.connected.clear()

    def publish_alarm(self, alarm_id: str, payload: bytes) -> bool:
        if not self.connected.is_set():
            return False
        self.sent.append(alarm_id)
        return True


@dataclass
class Rig:
    uplink: Uplink
    backup: FakeBackup
    outbox: Outbox
    clock: Clock
    downlink: list[DownlinkMessage]
    to_centre: list[bytes]


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    clock = Clock()
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    downlink: list[DownlinkMessage] = []
    uplink = Uplink(
        NOWHERE,
        "home-1",
        outbox,
        downlink.append,
        heartbeat_interval_s=30,
        resend_interval_s=10.0,
        clock=clock,
        backup=BrokerEndpoint("127.0.0.1", 1, "gw-1", "never-used-either"),
        backup_after_s=AFTER_S,
    )
    backup = FakeBackup()
    uplink.backup = backup  # type: ignore[assignment]
    to_centre: list[bytes] = []

    def publish(channel: Channel, payload: bytes, *, retain: bool = False) -> bool:
        if not uplink.connected.is_set():
            return False
        to_centre.append(payload)
        return True

    uplink._publish = publish  # type: ignore[method-assign]
    return Rig(uplink, backup, outbox, clock, downlink, to_centre)


def receipt_from_centre(rig: Rig, ref_id: str) -> None:
    """The centre's receipt, as paho hands it to the uplink."""
    receipt = ReceiptMessage(
        gateway_id="gw-1",
        gateway_time=datetime.fromtimestamp(rig.clock.now, UTC),
        body=ReceiptBody(ref_id=ref_id),
    )
    msg = mqtt.MQTTMessage(topic=b"eldercare/v1/gw-1/down/receipt")
    msg.payload = encode(receipt)
    rig.uplink._on_message(None, None, msg)  # type: ignore[arg-type]


def connack(code: int) -> ReasonCode:
    return ReasonCode(PacketTypes.CONNACK, identifier=code)


def test_backup_is_used_only_after_the_centre_left_an_alarm_unconfirmed_long_enough(
    rig: Rig,
) -> None:
    rig.outbox.add("alarm-1", Channel.ALARM.value, b"{}", rig.clock.now)
    rig.clock.now += AFTER_S - 1
    rig.uplink._choose_centres()
    assert not rig.backup.engaged  # the centre gets its full time first
    rig.clock.now += 2
    rig.uplink._choose_centres()
    assert rig.backup.engaged
    assert "1 alarm(s) unconfirmed by the centre for 181 s" in rig.backup.reasons[0]


def test_with_the_centre_away_only_alarms_go_to_the_backup_and_the_rest_waits(
    rig: Rig,
) -> None:
    rig.outbox.add("alarm-1", Channel.ALARM.value, b"alarm", rig.clock.now)
    rig.outbox.add("event-1", Channel.EVENT.value, b"event", rig.clock.now)
    rig.backup.engaged = True
    rig.backup.connected.set()
    rig.uplink._send_due()
    assert rig.backup.sent == ["alarm-1"]
    assert rig.to_centre == []
    # The alarm waits for its resend; the event, which only the centre takes, stays due.
    assert [item.id for item in rig.outbox.due(rig.clock.now)] == ["event-1"]

    rig.uplink.connected.set()  # the centre is back (its on_connect makes everything due)
    rig.outbox.retry_all_now(rig.clock.now)
    rig.uplink._send_due()
    assert rig.to_centre == [b"alarm", b"event"]  # the centre is tried all along
    assert rig.backup.sent == ["alarm-1", "alarm-1"]  # same id: stored once at each centre


def test_a_receipt_from_the_centre_lets_the_backup_go(rig: Rig) -> None:
    alarm_id = "a1" * 16
    rig.outbox.add(alarm_id, Channel.ALARM.value, b"{}", rig.clock.now)
    rig.clock.now += AFTER_S
    rig.uplink._choose_centres()
    assert rig.backup.engaged
    rig.clock.now += 5
    receipt_from_centre(rig, alarm_id)
    assert [m.body.ref_id for m in rig.downlink] == [alarm_id]  # type: ignore[union-attr]
    rig.uplink._choose_centres()
    assert not rig.backup.engaged
    assert rig.uplink.links().backup_engagements == 1


def test_a_refusing_broker_takes_the_backup_into_use_at_once_and_is_said_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway.uplink")
    for _ in range(4):  # paho retries with back-off; each retry is refused again
        rig.uplink._on_connect(None, None, None, connack(0x87), None)  # type: ignore[arg-type]
    assert rig.uplink.links().refusal == "Not authorized"
    refusals = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelname for r in refusals] == ["ERROR"]
    assert "refuses the gateway (Not authorized)" in refusals[0].getMessage()

    rig.uplink._choose_centres()  # no alarm waiting: the refusal alone is reason enough
    assert rig.backup.engaged
    assert "refuses the gateway" in rig.backup.reasons[0]


def test_a_busy_broker_is_an_outage_not_a_refusal(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.uplink")
    for _ in range(3):
        rig.uplink._on_connect(None, None, None, connack(0x89), None)  # type: ignore[arg-type]
    assert rig.uplink.links().refusal is None
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    rig.uplink._choose_centres()
    assert not rig.backup.engaged


def test_an_accepted_connection_ends_the_refusal(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    client = new_client("gw-1", NOWHERE)  # never started
    rig.uplink._on_connect(client, None, None, connack(0x86), None)
    assert rig.uplink.links().refusal == "Bad user name or password"
    caplog.set_level(logging.WARNING, logger="gateway.uplink")
    rig.uplink._on_connect(client, None, None, connack(0), None)
    assert rig.uplink.links().refusal is None
    assert rig.uplink.connected.is_set()
    assert "accepts the gateway again" in caplog.text


def test_a_backup_let_go_is_not_taken_again_at_once_for_alarms_still_on_their_way(
    rig: Rig,
) -> None:
    """The centre's receipts are applied to the outbox on the gateway's own thread, after the
    sender has let the backup go, and a burst of alarms is confirmed one by one: an alarm the
    centre is confirming right now must not count as left unconfirmed for ``backup_after_s``.
    The backup used to be taken again a second after it was let go (and then kept until the
    next receipt, so the next new alarm went to two centres)."""
    first, second = "a1" * 16, "b2" * 16
    rig.outbox.add(first, Channel.ALARM.value, b"{}", rig.clock.now)
    rig.outbox.add(second, Channel.ALARM.value, b"{}", rig.clock.now)
    rig.clock.now += AFTER_S
    rig.uplink._choose_centres()
    assert rig.backup.engaged
    rig.clock.now += 5
    receipt_from_centre(rig, first)  # handed on: the gateway's thread confirms it later
    rig.uplink._choose_centres()
    assert not rig.backup.engaged
    for _ in range(3):
        rig.clock.now += 1
        rig.uplink._choose_centres()
        assert not rig.backup.engaged
    assert rig.backup.engagements == 1

    # Still unconfirmed by the centre a full backup_after_s after it answered: the backup.
    rig.clock.now += AFTER_S
    rig.uplink._choose_centres()
    assert rig.backup.engaged
    assert rig.backup.engagements == 2


def test_alarms_resent_together_stay_in_the_order_they_were_raised(rig: Rig) -> None:
    """A pass that sent several alarms the centre lost (its subscription not back yet after
    a broker restart) sends them again together, oldest first: each alarm drawing its own
    jitter shuffled them, and the centre stored the newest first."""
    for n in range(6):
        rig.outbox.add(f"alarm-{n}", Channel.ALARM.value, f"a{n}".encode(), rig.clock.now)
    rig.uplink.connected.set()
    rig.uplink._send_due()
    rig.to_centre.clear()  # lost at the broker: no receipt comes
    rig.clock.now += 10.0 * 1.2  # past the longest resend interval with jitter
    rig.uplink._send_due()
    assert rig.to_centre == [f"a{n}".encode() for n in range(6)]
    # One time for all: at any moment of the next resend window, none or all six are due.
    later = [rig.clock.now + tenths / 10 for tenths in range(80, 121)]
    assert {len(rig.outbox.due(t)) for t in later} <= {0, 6}
