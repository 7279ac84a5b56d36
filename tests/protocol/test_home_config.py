"""The home configuration message: what the centre may push, and what a gateway refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from protocol import (
    Channel,
    HomeConfigMessage,
    MessageRejected,
    RejectReason,
    decode_downlink,
    encode,
)
from tests.protocol.samples import sample_messages, topic_of

TOPIC = topic_of(Channel.CONFIG)


def _config_json() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(encode(sample_messages()[Channel.CONFIG]))
    return raw


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = raw["body"]
        for key in parents:
            node = node[key]
        node[leaf] = value

    return change


def test_the_config_travels_down_retained_on_its_own_channel() -> None:
    assert TOPIC == "eldercare/v1/gw-7/down/config"
    decoded = decode_downlink(TOPIC, encode(sample_messages()[Channel.CONFIG]))
    assert isinstance(decoded, HomeConfigMessage)
    assert decoded.body.devices["sos:hall"].room == "hall"
    assert decoded.body.resident.dementia is True


@pytest.mark.parametrize(
    "change",
    [
        _set("devices.btn-1.port", None),  # a serial device without its port
        _set("devices.sos:hall.port", "/dev/ttyUSB0"),  # a port on a Zigbee device
        _set("devices.sos:hall.room", "attic"),  # a room not listed
        _set("devices.sos:hall.kind", "SOS Button"),  # not a kind's name
        _set("devices.sos:hall.transport", "bluetooth"),
        _set("rooms", ["hall", "hall", "bedroom"]),
        _set("rooms", ["hall", "bedroom", ""]),
        _set("resident.timezone", "Mars/Olympus_Mons"),
        _set("resident.checkin_due", "24:00"),
        _set("resident.checkin_due", "9:30"),
        _set("revision", -1),
        _set("revision", "4"),  # strict: a string is not a revision
        _set("heartbeat_interval_s", 0),
        _set("detectors.fall_cancel_window_s", 301),
        _set("detectors.night_bed_exit_s", 30),
        _set("surprise", True),
    ],
)
def test_a_malformed_config_is_refused_as_invalid(change: Callable[[dict[str, Any]], None]) -> None:
    raw = _config_json()
    change(raw)
    with pytest.raises(MessageRejected) as info:
        decode_downlink(TOPIC, json.dumps(raw).encode())
    assert info.value.reason is RejectReason.INVALID


def test_a_config_names_no_bad_device_id() -> None:
    raw = _config_json()
    raw["body"]["devices"]["bad id"] = raw["body"]["devices"].pop("btn-1")
    with pytest.raises(MessageRejected):
        decode_downlink(TOPIC, json.dumps(raw).encode())


def test_an_empty_config_takes_the_defaults() -> None:
    raw = _config_json()
    raw["body"] = {"revision": 1, "home_id": "home-42"}
    decoded = decode_downlink(TOPIC, json.dumps(raw).encode())
    assert isinstance(decoded, HomeConfigMessage)
    assert decoded.body.devices == {}
    assert decoded.body.heartbeat_interval_s == 30
    assert decoded.body.detectors.fall_cancel_window_s == 30.0
