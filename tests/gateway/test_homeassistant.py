"""Home Assistant discovery: config payloads in the shape Home Assistant's MQTT discovery
documents, topics that cannot carry wildcards, and the alarm and device states a family sees."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from edge.events import BatteryReported, DeviceRef, KeyPressed
from edge.events import Key as EdgeKey
from gateway.ha_entities import (
    STAGES,
    Discovery,
    StateTopics,
    all_entities,
    object_id,
    validate_prefix,
)
from gateway.homeassistant import AlarmBoard, HomeAssistantPublisher
from gateway.supervision import DeviceState
from protocol import (
    AlarmBody,
    AlarmKind,
    AlarmMessage,
    CommandBody,
    CommandKind,
    CommandMessage,
    Origin,
    encode,
)
from protocol.mqtt import BrokerEndpoint

GW = "gw-test-1"
BUTTON = DeviceRef("call-button-1", "call_button", "serial")
SOS = DeviceRef("sos-1", "sos_button", "zigbee2mqtt")
PIR = DeviceRef("hall.pir:2", "motion_sensor", "zigbee2mqtt")
DEVICES = {d.device_id: d for d in (BUTTON, SOS, PIR)}
SOS_IEEE = "0x00158d0001d82999"

# The options Home Assistant documents for MQTT binary sensors and sensors (discovery form,
# integrations/binary_sensor.mqtt and sensor.mqtt), the ones this gateway may use.
COMMON = {
    "availability", "availability_mode", "device", "device_class", "entity_category", "icon",
    "json_attributes_topic", "name", "object_id", "origin", "qos", "state_topic", "unique_id",
    "value_template",
}  # fmt: skip
ALLOWED = {
    "binary_sensor": COMMON | {"payload_on", "payload_off"},
    "sensor": COMMON | {"options", "state_class", "unit_of_measurement"},
}
DEVICE_KEYS = {
    "identifiers", "name", "manufacturer", "model", "via_device", "suggested_area",
}  # fmt: skip
BINARY_CLASSES = {"connectivity", "safety", "problem"}
SENSOR_CLASSES = {"enum", "timestamp", "battery"}
DISCOVERY_TOPIC = re.compile(
    r"^homeassistant/(binary_sensor|sensor)/eldercare/([A-Za-z0-9_-]+)/config$"
)


def _entities(ieee: dict[str, str] | None = None) -> list[Discovery]:
    return all_entities("homeassistant", GW, DEVICES, ieee=ieee or {}, rooms={"sos-1": "bedroom"})


def _by_object(entities: list[Discovery]) -> dict[str, dict[str, Any]]:
    return {e.config["object_id"]: e.config for e in entities}


def test_every_config_has_the_documented_shape() -> None:
    entities = _entities({"sos-1": SOS_IEEE})
    unique_ids = [e.config["unique_id"] for e in entities]
    assert len(unique_ids) == len(set(unique_ids))
    for entity in entities:
        match = DISCOVERY_TOPIC.fullmatch(entity.topic)
        assert match, entity.topic
        component, oid = match.groups()
        config = json.loads(json.dumps(entity.config))  # what goes on the wire is JSON
        assert set(config) <= ALLOWED[component], set(config) - ALLOWED[component]
        assert config["unique_id"] == config["object_id"] == oid
        assert config["origin"]["name"]
        assert set(config["device"]) <= DEVICE_KEYS
        assert config["device"]["identifiers"]
        assert config["device"]["name"]
        assert config["state_topic"].startswith(f"eldercare_home/{GW}/")
        assert config["availability_mode"] == "all"
        for entry in config["availability"]:
            assert entry["topic"].startswith(f"eldercare_home/{GW}/")
            assert (entry["payload_available"], entry["payload_not_available"]) == (
                "online",
                "offline",
            )
        classes = BINARY_CLASSES if component == "binary_sensor" else SENSOR_CLASSES
        assert config["device_class"] in classes
        assert config.get("entity_category", "diagnostic") == "diagnostic"
        if config["device_class"] == "enum":
            assert config["options"]
            assert "unit_of_measurement" not in config
            assert "state_class" not in config


def test_the_gateway_shows_its_centre_link_and_the_homes_alarms() -> None:
    gateway = _by_object(_entities())
    centre = gateway[f"{GW}_centre"]
    assert centre["device_class"] == "connectivity"
    assert centre["device"]["identifiers"] == [f"eldercare_{GW}"]
    assert "via_device" not in centre["device"]
    last = gateway[f"{GW}_last_alarm"]
    assert set(last["options"]) == {"none"} | {k.value for k in AlarmKind}
    assert last["json_attributes_topic"] == last["state_topic"] == f"eldercare_home/{GW}/alarm"
    assert gateway[f"{GW}_last_alarm_progress"]["options"] == list(STAGES)
    assert gateway[f"{GW}_last_alarm_time"]["device_class"] == "timestamp"
    assert gateway[f"{GW}_alarm_open"]["device_class"] == "safety"


def test_each_device_gets_supervision_and_only_a_serial_device_a_battery() -> None:
    configs = _by_object(_entities())
    supervised = [o for o in configs if o.endswith("_supervision")]
    assert len(supervised) == 3
    batteries = [o for o in configs if o.endswith("_battery")]
    # The SOS button has a battery too, but Zigbee2MQTT already shows it.
    assert batteries == [f"{GW}_call-button-1_battery"]
    battery = configs[batteries[0]]
    assert (battery["device_class"], battery["unit_of_measurement"]) == ("battery", "%")
    assert [a["topic"] for a in battery["availability"]] == [
        f"eldercare_home/{GW}/status",
        f"eldercare_home/{GW}/device/call-button-1",
    ]
    button = configs[f"{GW}_call-button-1_supervision"]["device"]
    assert button["via_device"] == f"eldercare_{GW}"
    assert button["model"].startswith("One-key call button")


def test_a_paired_zigbee_device_joins_the_device_zigbee2mqtt_made() -> None:
    before = _by_object(_entities())[f"{GW}_sos-1_supervision"]["device"]
    assert before["identifiers"] == [f"eldercare_{GW}_sos-1"]
    assert before["suggested_area"] == "bedroom"
    after = _by_object(_entities({"sos-1": SOS_IEEE}))[f"{GW}_sos-1_supervision"]["device"]
    # Only the identifier and name: Zigbee2MQTT's model and vendor stay as they are.
    assert after == {"identifiers": [f"zigbee2mqtt_{SOS_IEEE}"], "name": "sos-1"}
    forged = _by_object(_entities({"sos-1": "0x1/+"}))[f"{GW}_sos-1_supervision"]["device"]
    assert forged["identifiers"] == [f"eldercare_{GW}_sos-1"]


def test_wire_safe_device_ids_become_distinct_valid_object_ids() -> None:
    dotted, underscored = object_id(GW, "hall.pir:2"), object_id(GW, "hall_pir_2")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", dotted)
    assert dotted != underscored
    assert underscored == f"{GW}_hall_pir_2"
    assert f"{dotted}_supervision" in _by_object(_entities())


@pytest.mark.parametrize("prefix", ["", "home/+", "ha/#", "a//b", "/ha", "ha/", "$SYS", "a\0"])
def test_a_prefix_that_could_widen_a_topic_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        validate_prefix(prefix)


def test_a_prefix_of_several_levels_is_fine() -> None:
    assert validate_prefix("home/assistant") == "home/assistant"


@pytest.mark.parametrize("device_id", ["a+b", "a#", "a/b", ""])
def test_state_topics_never_carry_wildcards(device_id: str) -> None:
    with pytest.raises(ValueError, match="topic level"):
        StateTopics(GW).device(device_id)


def _alarm(
    kind: AlarmKind = AlarmKind.EMERGENCY_CALL, device: str = "call-button-1"
) -> AlarmMessage:
    return AlarmMessage(
        gateway_id=GW,
        device_id=device,
        gateway_time=datetime(2024, 5, 1, 8, 30, tzinfo=UTC),
        body=AlarmBody(
            kind=kind,
            priority=0,
            home_id="home-1",
            origin=Origin(transport="serial", device_kind="call_button"),
            detail={"room": "bedroom", "secret_looking": "never shown"},
        ),
    )


def test_the_alarm_board_follows_an_alarm_to_help_coming() -> None:
    board = AlarmBoard()
    assert board.payload() == {
        "kind": "none",
        "stage": "none",
        "open": False,
        "open_count": 0,
        "raised_at": None,
    }
    alarm = _alarm()
    board.stored(alarm, None, now=0.0)
    shown = board.payload()
    assert (shown["kind"], shown["stage"], shown["open"]) == ("emergency_call", "raised", True)
    assert shown["raised_at"] == "2024-05-01T08:30:00+00:00"
    assert (shown["device_id"], shown["room"]) == ("call-button-1", "bedroom")
    assert "secret_looking" not in json.dumps(shown)
    assert board.advance(alarm.id, "at_centre")
    assert board.advance(alarm.id, "help_coming")
    assert not board.advance(alarm.id, "at_centre")  # a late receipt does not go back
    assert board.payload()["stage"] == "help_coming"
    assert board.payload()["open"] is False


def test_a_held_fall_is_open_until_cancelled_and_goes_out_when_its_window_closes() -> None:
    board = AlarmBoard()
    cancelled, kept = _alarm(AlarmKind.FALL), _alarm(AlarmKind.FALL)
    board.stored(cancelled, 30.0, now=0.0)
    assert (board.payload()["stage"], board.payload()["open"]) == ("held", True)
    assert board.advance(cancelled.id, "cancelled")
    assert (board.payload()["stage"], board.payload()["open"]) == ("cancelled", False)
    assert not board.advance(cancelled.id, "raised")
    board.stored(kept, 60.0, now=40.0)
    assert not board.expire_holds(59.0)
    assert board.expire_holds(60.0)
    assert board.payload()["stage"] == "raised"


def _publisher() -> HomeAssistantPublisher:
    return HomeAssistantPublisher(
        BrokerEndpoint("127.0.0.1", 1, "gateway", "unused"),
        gateway_id=GW,
        devices=DEVICES,
        prefix="homeassistant",
        z2m_base_topic="zigbee2mqtt",
        client_id="test-ha",
    )


def test_the_sinks_only_queue_and_the_publisher_thread_applies_in_order() -> None:
    publisher = _publisher()  # never started: no broker is touched
    alarm = _alarm()
    publisher.device_state("call-button-1", DeviceState.OK, 10.0)
    publisher.observe(BatteryReported(BUTTON, 11.0, 80))
    publisher.observe(BatteryReported(SOS, 11.0, 5))  # Zigbee2MQTT shows that one
    publisher.observe(KeyPressed(BUTTON, EdgeKey.EMERGENCY, 12.0, 12.0))
    publisher.stored(alarm.id, "alarm", encode(alarm), None)
    publisher.stored("event-1", "event", b"{}", None)
    publisher.confirmed(alarm.id)
    handled = CommandMessage(
        gateway_id=GW,
        gateway_time=datetime(2024, 5, 1, 8, 31, tzinfo=UTC),
        body=CommandBody(kind=CommandKind.ALARM_HANDLED, alarm_id=alarm.id, operator="op"),
    )
    publisher.observe(handled)
    assert publisher.board.payload()["kind"] == "none"  # nothing applied on the caller's thread
    publisher._step(20.0)
    assert publisher.views["call-button-1"].payload()["state"] == "ok"
    assert publisher.views["call-button-1"].battery == 80
    assert publisher.views["sos-1"].battery is None
    assert publisher.views["sos-1"].state is DeviceState.UNKNOWN
    assert publisher.board.payload()["stage"] == "help_coming"


def test_bridge_devices_name_the_zigbee_device_and_schedule_discovery() -> None:
    publisher = _publisher()
    coordinator = {"type": "Coordinator", "ieee_address": "0x00124b0000000001"}
    listing = [
        coordinator | {"friendly_name": "Coordinator"},
        {"ieee_address": SOS_IEEE, "friendly_name": "sos-1", "definition": {"model": "TS0215A"}},
        {"ieee_address": "0x00158d0000000002", "friendly_name": "not-configured"},
    ]
    publisher._on_bridge_devices(json.dumps(listing).encode())
    assert publisher._ieee == {"sos-1": SOS_IEEE}
    assert publisher._discovery_at is not None
    publisher._on_bridge_devices(b"not json")  # logged, nothing changes
    assert publisher._ieee == {"sos-1": SOS_IEEE}
