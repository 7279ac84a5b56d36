"""The server's two ingest lanes: an alarm is stored while a backlog of routine messages waits,
and routine messages are stored in batches, not one commit each."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import paho.mqtt.client as mqtt

from protocol.mqtt import BrokerEndpoint
from protocol.topics import Channel, Direction
from server.ingest.broker import (
    ALARM_FILTER,
    ROUTINE_BATCH,
    ROUTINE_FILTERS,
    SAMPLES_FILTER,
    BrokerLink,
)
from server.ingest.handler import Outgoing
from server.live import LiveHub

DEADLINE_S = 5.0


class BlockedStore:
    """A stand-in handler whose routine writes hang until released (a slow disk); tests wait
    on its condition, woken by every write."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.alarms: list[bytes] = []
        self.batches: list[int] = []
        self._changed = threading.Condition()

    def handle(self, topic: str, payload: bytes) -> Outgoing:
        with self._changed:
            self.alarms.append(payload)
            self._changed.notify_all()
        return Outgoing()

    def handle_many(self, batch: Sequence[tuple[str, bytes]]) -> Outgoing:
        assert self.release.wait(DEADLINE_S)
        with self._changed:
            self.batches.append(len(batch))
            self._changed.notify_all()
        return Outgoing()

    def until(self, condition: Callable[[], bool]) -> bool:
        with self._changed:
            return self._changed.wait_for(condition, DEADLINE_S)


def message(channel: str, payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=f"eldercare/v1/gw-1/up/{channel}".encode())
    msg.payload = payload
    return msg


def test_an_alarm_overtakes_a_routine_backlog_which_is_then_stored_in_batches() -> None:
    store = BlockedStore()
    link = BrokerLink(BrokerEndpoint("127.0.0.1", 1, "server", "x"), "1", store, LiveHub())  # type: ignore[arg-type]
    link.start_lanes()
    try:
        for i in range(1200):
            link._on_message(None, None, message("status", b"%d" % i))  # type: ignore[arg-type]
        link._on_message(None, None, message("alarm", b"help"))  # type: ignore[arg-type]
        assert store.until(lambda: store.alarms == [b"help"])  # while the routine lane is stuck
        assert store.batches == []
        store.release.set()
        assert store.until(lambda: sum(store.batches) == 1200)
        assert max(store.batches) <= ROUTINE_BATCH
        assert len(store.batches) < 1200 // 10  # batched, not one commit per message
    finally:
        store.release.set()
        link.stop()


def test_alarms_have_a_connection_of_their_own_and_every_other_channel_the_other() -> None:
    routine = {f.rsplit("/", 1)[-1] for f in ROUTINE_FILTERS}
    uplink = {c.value for c in Channel if c.direction is Direction.UP}
    assert ALARM_FILTER.rsplit("/", 1)[-1] == Channel.ALARM.value
    assert Channel.ALARM.value not in routine  # a telemetry flood cannot queue ahead of one
    # Nothing the gateways send is missed; samples go to the fall detection leader alone.
    assert routine | {Channel.ALARM.value, Channel.SAMPLES.value} == uplink
    assert Channel.SAMPLES.value not in routine
    assert all(f.startswith("$share/") for f in (*ROUTINE_FILTERS, ALARM_FILTER))
    assert not SAMPLES_FILTER.startswith("$share/")  # one process gets every batch of a wearer
    assert SAMPLES_FILTER.rsplit("/", 1)[-1] == Channel.SAMPLES.value
