"""Live telemetry gathered for a few seconds into one telemetry_series; alarms never wait."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.backlog import TelemetryBacklog
from gateway.outbox import Outbox
from gateway.telemetry_gather import TelemetryGatherer
from gateway.uplink import Uplink
from protocol import Channel, TelemetryBody, TelemetryMessage, encode
from protocol.messages import MAX_BATCH_READINGS
from protocol.mqtt import BrokerEndpoint
from tests.gateway.stubs import Clock

WINDOW_S = 5.0
NOWHERE = BrokerEndpoint("127.0.0.1", 1, "gw-1", "never-used")


def reading(clock: Clock, percent: int) -> bytes:
    return encode(
        TelemetryMessage(
            gateway_id="gw-1",
            device_id="button-1",
            gateway_time=datetime.fromtimestamp(clock.now, UTC),
            body=TelemetryBody(measurement="battery", fields={"percent": percent}),
        )
    )


@dataclass
class Rig:
    uplink: Uplink
    clock: Clock
    outbox: Outbox
    backlog: TelemetryBacklog
    series: bool
    to_centre: list[tuple[Channel, bytes]] = field(default_factory=list)


@pytest.fixture(params=[True, False], ids=["series", "reading objects"])
def rig(tmp_path: Path, request: pytest.FixtureRequest) -> Rig:
    """A gateway sending ``telemetry_series`` (the default) or, towards an older centre,
    ``telemetry_batch``."""
    clock = Clock()
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    backlog = TelemetryBacklog(tmp_path / "backlog.sqlite3", quota_bytes=1 << 20)
    uplink = Uplink(
        NOWHERE,
        "home-1",
        outbox,
        lambda _message: None,
        heartbeat_interval_s=30,
        resend_interval_s=10.0,
        clock=clock,
        backlog=backlog,
        telemetry_gather_s=WINDOW_S,
        telemetry_series=request.param,
    )
    made = Rig(uplink, clock, outbox, backlog, request.param)

    def publish(channel: Channel, payload: bytes, *, retain: bool = False) -> bool:
        made.to_centre.append((channel, payload))
        return True

    uplink._publish = publish  # type: ignore[method-assign]
    uplink.connected.set()
    return made


def percents(batch: bytes) -> list[int]:
    body = json.loads(batch)["body"]
    if "series" in body:
        return [p for s in body["series"] for p in s["fields"]["percent"]]
    return [r["fields"]["percent"] for r in body["readings"]]


def test_readings_of_a_window_go_as_one_batch_in_order_and_an_alarm_does_not_wait(
    rig: Rig,
) -> None:
    for percent in (90, 89, 88):
        assert rig.uplink.publish_now(Channel.TELEMETRY, reading(rig.clock, percent))
        rig.clock.now += 1
    rig.outbox.add("alarm-1", Channel.ALARM.value, b"alarm", rig.clock.now)

    rig.uplink._send_due()
    rig.uplink._send_gathered()
    assert rig.to_centre == [(Channel.ALARM, b"alarm")]  # the readings' window is not over

    rig.clock.now += WINDOW_S - 3  # five seconds after the first reading
    rig.uplink._send_gathered()
    [(channel, payload)] = rig.to_centre[1:]
    assert channel is (Channel.TELEMETRY_SERIES if rig.series else Channel.TELEMETRY_BATCH)
    assert percents(payload) == [90, 89, 88]


def test_a_lone_reading_goes_as_it_was_and_events_never_wait(rig: Rig) -> None:
    alone = reading(rig.clock, 70)
    rig.uplink.publish_now(Channel.TELEMETRY, alone)
    rig.uplink.publish_now(Channel.EVENT, b"event")
    assert rig.to_centre == [(Channel.EVENT, b"event")]

    rig.clock.now += WINDOW_S
    rig.uplink._send_gathered()
    assert rig.to_centre[1:] == [(Channel.TELEMETRY, alone)]


def test_readings_held_when_the_centre_goes_away_are_kept_on_disk(rig: Rig) -> None:
    rig.uplink.publish_now(Channel.TELEMETRY, reading(rig.clock, 60))
    rig.uplink.publish_now(Channel.TELEMETRY, reading(rig.clock, 59))
    rig.uplink.connected.clear()

    rig.uplink._send_gathered(everything=True)  # as stop() does

    assert rig.to_centre == []
    assert [json.loads(kept.payload)["body"]["fields"] for kept in rig.backlog.oldest(10)] == [
        {"percent": 60},
        {"percent": 59},
    ]


def test_a_full_window_is_due_at_once() -> None:
    clock = Clock()
    gatherer = TelemetryGatherer(WINDOW_S, clock)
    assert gatherer.add(b"r") is True  # a window opened: the sender is woken for its end
    assert gatherer.due_at() == clock.now + WINDOW_S
    for _ in range(MAX_BATCH_READINGS - 2):
        assert gatherer.add(b"r") is False
    assert gatherer.add(b"r") is True  # full
    assert gatherer.due_at() == clock.now
    assert len(gatherer.take()) == MAX_BATCH_READINGS
    assert gatherer.due_at() is None
    assert gatherer.take() == []


def test_a_clock_stepped_back_does_not_hold_readings() -> None:
    clock = Clock()
    gatherer = TelemetryGatherer(WINDOW_S, clock)
    gatherer.add(b"r")
    clock.now -= 3600
    assert len(gatherer.take()) == 1


def test_a_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TelemetryGatherer(0, Clock())
