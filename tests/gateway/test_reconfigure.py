"""A newer configuration from the centre applied to a running gateway: the diff, revisions,
what is applied live, what is refused, and the events that tell the centre."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edge.events import DeviceRef, Key, KeyPressed
from gateway.detect.night import NightBedExitDetector
from gateway.outbox import Outbox
from gateway.provisioned import ConfigStore
from gateway.reconfigure import Reconfigurer, diff
from gateway.service import Gateway
from protocol import (
    AlarmMessage,
    EventMessage,
    HomeConfigBody,
    HomeConfigMessage,
    MessageRejected,
    RejectReason,
    decode_uplink,
)
from protocol.home_config import ConfiguredDevice, DetectorSettings, ResidentProfile
from tests.gateway.stubs import Clock

CONFIG_TOPIC = "eldercare/v1/gw-1/down/config"
BUTTON = ConfiguredDevice(kind="call_button", transport="serial", port="/dev/ttyUSB0")
SOS = ConfiguredDevice(kind="sos_button", transport="zigbee2mqtt", room="hall")


def _config(revision: int, **changes: Any) -> HomeConfigBody:
    values: dict[str, Any] = {
        "revision": revision,
        "home_id": "home-1",
        "devices": {"btn-1": BUTTON},
    }
    return HomeConfigBody(**(values | changes))


@dataclass
class FakeLink:
    device: DeviceRef
    port: str
    running: bool = False

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False


@dataclass
class FakeBridge:
    devices: dict[str, DeviceRef] = field(default_factory=dict)

    def set_devices(self, devices: dict[str, DeviceRef]) -> None:
        self.devices = dict(devices)


@dataclass
class FakeUplink:
    heartbeat_interval_s: int = 30
    wakes: int = 0

    def wake(self) -> None:
        self.wakes += 1


@dataclass
class Rig:
    gateway: Gateway
    reconfigurer: Reconfigurer
    store: ConfigStore
    bridge: FakeBridge
    uplink: FakeUplink
    opened: list[FakeLink]
    clock: Clock

    def offer(self, config: HomeConfigBody) -> None:
        now = datetime.fromtimestamp(self.clock.now, UTC)
        self.gateway.handle(HomeConfigMessage(gateway_id="gw-1", gateway_time=now, body=config))

    def events(self) -> list[EventMessage]:
        items = self.gateway.outbox.due(self.clock.now + 1e6)
        decoded = [decode_uplink(f"eldercare/v1/gw-1/up/{i.channel}", i.payload) for i in items]
        return [m for m in decoded if isinstance(m, EventMessage)]


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    clock = Clock()
    running = _config(0)
    gateway = Gateway("gw-1", "home-1", Outbox(tmp_path / "outbox.sqlite3"), clock=clock)
    opened: list[FakeLink] = []

    def open_link(device: DeviceRef, port: str) -> Any:
        link = FakeLink(device, port)
        opened.append(link)
        return link

    first = FakeLink(DeviceRef("btn-1", "call_button", "serial"), "/dev/ttyUSB0", running=True)
    gateway.serial_links["btn-1"] = first  # type: ignore[assignment]
    opened.append(first)
    bridge, uplink = FakeBridge(), FakeUplink()
    store = ConfigStore(tmp_path / "home-config.json")
    reconfigurer = Reconfigurer(
        gateway,
        store,
        running,
        open_link=open_link,
        bridge=bridge,  # type: ignore[arg-type]
        uplink=uplink,  # type: ignore[arg-type]
        restart_for={"devices": "home_assistant"},
        clock=clock,
    )
    gateway.on_config = reconfigurer.offer
    return Rig(gateway, reconfigurer, store, bridge, uplink, opened, clock)


def test_diff_names_added_removed_relinked_devices_and_changed_sections() -> None:
    old = _config(1, devices={"btn-1": BUTTON, "sos-1": SOS}, rooms=["hall"])
    moved = BUTTON.model_copy(update={"port": "/dev/ttyUSB1"})
    new = _config(2, devices={"btn-1": moved, "sos-2": SOS}, rooms=["hall"])
    change = diff(old, new)
    assert change.added == {"sos-2"}
    assert change.removed == {"sos-1"}
    assert change.relinked == {"btn-1"}
    assert change.sections == ("devices", "rooms")  # sos-2 is now the one in the hall
    assert diff(new, new).sections == ()
    quieter = _config(2, heartbeat_interval_s=90, resident=ResidentProfile(dementia=True))
    assert diff(_config(1), quieter).sections == ("resident", "heartbeat")


def test_a_newer_config_is_applied_live_stored_and_reported(rig: Rig) -> None:
    config = _config(
        1,
        devices={"btn-2": BUTTON.model_copy(update={"room": "bedroom"}), "sos-1": SOS},
        rooms=["hall", "bedroom"],
        resident=ResidentProfile(dementia=True, checkin_due="10:00", timezone="Asia/Shanghai"),
        detectors=DetectorSettings(fall_cancel_window_s=12),
        heartbeat_interval_s=90,
    )
    rig.offer(config)
    gateway = rig.gateway
    assert rig.opened[0].running is False  # btn-1 is gone: its link stopped
    [new_link] = rig.opened[1:]
    assert (new_link.device.device_id, new_link.port, new_link.running) == (
        "btn-2",
        "/dev/ttyUSB0",
        True,
    )
    assert set(gateway.serial_links) == {"btn-2"}
    assert rig.bridge.devices == {"sos-1": DeviceRef("sos-1", "sos_button", "zigbee2mqtt")}
    assert set(gateway.supervisor.devices) == {"btn-2", "sos-1"}
    assert gateway.rooms == {"btn-2": "bedroom", "sos-1": "hall"}
    night = [d for d in gateway.home.monitor.detectors if isinstance(d, NightBedExitDetector)]
    assert night[0].config.bed_exit_limit_s == 20 * 60  # dementia: 20 min, not 45
    assert gateway.home.checkin is not None
    assert gateway.home.checkin.config.due_text == "10:00"
    assert gateway.falls.cancel_window_s == 12
    assert rig.uplink.heartbeat_interval_s == 90
    assert rig.store.load() == config
    [event] = rig.events()
    assert event.body.kind == "config_applied"
    assert event.body.detail == {
        "revision": 1,
        "changed": "devices,rooms,resident,detectors,heartbeat",
        "restart_needed": "home_assistant",
        "ignored": "",
    }


def test_a_press_from_a_zigbee_device_added_live_carries_its_room(rig: Rig) -> None:
    rig.offer(_config(1, devices={"btn-1": BUTTON, "sos-1": SOS}, rooms=["hall"]))
    sos = rig.bridge.devices["sos-1"]
    rig.gateway.handle(KeyPressed(sos, Key.EMERGENCY, rig.clock.now, rig.clock.now))
    items = rig.gateway.outbox.due(rig.clock.now + 1e6)
    [alarm] = [
        m
        for i in items
        if isinstance(
            m := decode_uplink(f"eldercare/v1/gw-1/up/{i.channel}", i.payload), AlarmMessage
        )
    ]
    assert (alarm.device_id, alarm.body.detail) == ("sos-1", {"room": "hall"})


@pytest.mark.parametrize("revision", [0, 1])
def test_a_revision_not_newer_than_the_running_one_is_ignored(rig: Rig, revision: int) -> None:
    rig.offer(_config(1, heartbeat_interval_s=60))
    rig.offer(_config(revision, heartbeat_interval_s=120))
    assert rig.uplink.heartbeat_interval_s == 60
    assert [e.body.detail["revision"] for e in rig.events()] == [1]


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        (
            _config(
                2, devices={"x-1": ConfiguredDevice(kind="teleporter", transport="zigbee2mqtt")}
            ),
            "unknown device kind 'teleporter'",
        ),
        (
            _config(
                2,
                devices={
                    "x-1": ConfiguredDevice(kind="sos_button", transport="serial", port="/dev/x")
                },
            ),
            "sos_button has no serial form",
        ),
        (_config(2, home_id="home-2"), "not this gateway's home"),
        (_config(2, resident=ResidentProfile(checkin_due="00:10")), "check-in"),
    ],
)
def test_a_config_the_gateway_cannot_run_is_refused_whole(
    rig: Rig, config: HomeConfigBody, reason: str
) -> None:
    rig.offer(_config(1, heartbeat_interval_s=60))
    rig.offer(config)
    assert rig.reconfigurer.running.revision == 1
    assert rig.store.load() == _config(1, heartbeat_interval_s=60)
    assert set(rig.gateway.serial_links) == {"btn-1"}
    rejected = rig.events()[-1]
    assert rejected.body.kind == "config_rejected"
    assert rejected.body.detail["revision"] == 2
    assert rejected.body.detail["running_revision"] == 1
    assert reason in str(rejected.body.detail["detail"])


def test_a_malformed_config_payload_is_answered_but_a_cleared_one_is_not(rig: Rig) -> None:
    err = MessageRejected(RejectReason.INVALID, "body.revision: Input should be a valid integer")
    rig.reconfigurer.refuse_payload(CONFIG_TOPIC, b'{"v":1}', err)
    rig.reconfigurer.refuse_payload(CONFIG_TOPIC, b"", err)  # the centre cleared it (revoked)
    rig.reconfigurer.refuse_payload("eldercare/v1/gw-1/down/receipt", b"{}", err)
    [event] = rig.events()
    assert event.body.kind == "config_rejected"
    assert event.body.detail["reason"] == "invalid"
    assert "revision" not in event.body.detail
    assert json.dumps(event.body.detail)  # plain scalars only
