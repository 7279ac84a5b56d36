"""The uplink drains its telemetry backlog a window at a time, one backlog commit per window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from gateway.backlog import Kept, TelemetryBacklog
from gateway.outbox import Outbox
from gateway.uplink import BACKLOG_WINDOW, Uplink
from protocol.mqtt import BrokerEndpoint
from tests.gateway.stubs import Clock

NOWHERE = BrokerEndpoint("127.0.0.1", 1, "gw-1", "never-used")


@dataclass
class Published:
    rc: int

    def is_published(self) -> bool:
        return False  # still in flight: the window stays taken


@dataclass
class Broker:
    """Stands for paho's client: takes ``room`` messages, then reports the link gone."""

    room: int
    payloads: list[bytes] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, qos: int) -> Published:
        if len(self.payloads) == self.room:
            return Published(mqtt.MQTT_ERR_NO_CONN)
        self.payloads.append(payload)
        return Published(mqtt.MQTT_ERR_SUCCESS)


class CountingBacklog(TelemetryBacklog):
    def __init__(self, path: Path) -> None:
        super().__init__(path, quota_bytes=1 << 20)
        self.commits: list[int] = []

    def sent_many(self, kept: Sequence[Kept]) -> None:
        self.commits.append(len(kept))
        super().sent_many(kept)


def _uplink(tmp_path: Path, backlog: TelemetryBacklog, broker: Broker) -> Uplink:
    uplink = Uplink(
        NOWHERE,
        "home-1",
        Outbox(tmp_path / "outbox.sqlite3"),
        lambda _message: None,
        heartbeat_interval_s=30,
        resend_interval_s=10.0,
        clock=Clock(),
        backlog=backlog,
    )
    uplink._client = broker  # type: ignore[assignment]
    uplink.connected.set()
    return uplink


@pytest.mark.parametrize("room", [0, 3, 12])
def test_what_paho_took_leaves_the_backlog_in_one_commit(tmp_path: Path, room: int) -> None:
    backlog = CountingBacklog(tmp_path / "backlog.sqlite3")
    for n in range(12):  # device events go one per message, as they were kept
        backlog.keep("event", f"event-{n:02d}".encode())
    broker = Broker(room)
    uplink = _uplink(tmp_path, backlog, broker)

    more = uplink._drain_backlog()

    assert broker.payloads == [f"event-{n:02d}".encode() for n in range(room)]
    assert backlog.commits == [room]
    assert backlog.depth == 12 - room
    assert backlog.size_bytes == 8 * (12 - room)
    assert [k.payload for k in backlog.oldest(20)] == [
        f"event-{n:02d}".encode() for n in range(room, 12)
    ]
    assert more is False  # nothing left, or the link is gone: a reconnect wakes the drain


def test_a_full_window_leaves_the_rest_for_the_next_pass(tmp_path: Path) -> None:
    backlog = CountingBacklog(tmp_path / "backlog.sqlite3")
    for n in range(BACKLOG_WINDOW + 5):
        backlog.keep("event", f"event-{n:02d}".encode())
    uplink = _uplink(tmp_path, backlog, Broker(room=1000))

    assert uplink._drain_backlog() is True
    assert backlog.commits == [BACKLOG_WINDOW]
    assert backlog.depth == 5
