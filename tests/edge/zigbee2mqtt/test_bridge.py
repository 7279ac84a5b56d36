"""Zigbee2MQTT: recorded Tuya TS0215A_sos payloads through the bridge, without a broker.

``handle()`` is the bridge's whole decoding path; it is called directly (start() is never
called, so nothing connects).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.errors import EdgeError, PayloadError
from edge.events import AvailabilityChanged, BatteryReported, DeviceRef, Key, KeyPressed
from edge.zigbee2mqtt.bridge import MAX_PAYLOAD_BYTES, Zigbee2MqttBridge
from edge.zigbee2mqtt.converters import CONVERTERS, Problem
from protocol.mqtt import BrokerEndpoint
from tests.edge.recording import EventRecorder

NOW = 1_700_000_000.0
SOS = DeviceRef("sos-1", "sos_button", "zigbee2mqtt")
HALL = DeviceRef("sos-hall", "sos_button", "zigbee2mqtt")
NESTED = DeviceRef("sos-nested", "sos_button", "zigbee2mqtt")
DEVICES = {"sos": SOS, "ground floor/hall sos": HALL, "ground floor/hall sos/x": NESTED}

# Recorded from a Tuya TS0215A_sos: the press, then the reset of the action sensor.
PRESS = b'{"action":"emergency","battery":80,"linkquality":144}'
RESET = b'{"action":""}'
RESET_WITH_STATE = b'{"action":"","battery":80,"linkquality":144}'


@pytest.fixture
def bridge(recorder: EventRecorder) -> Zigbee2MqttBridge:
    return Zigbee2MqttBridge(
        BrokerEndpoint("127.0.0.1", 1, "u", "p"),
        DEVICES,
        recorder,
        client_id="test-bridge",
        clock=lambda: NOW,
    )


def test_emergency_press_is_a_key_press_and_a_battery_reading(
    bridge: Zigbee2MqttBridge, recorder: EventRecorder
) -> None:
    bridge.handle("zigbee2mqtt/sos", PRESS, retained=False)
    assert recorder.events == [
        KeyPressed(SOS, Key.EMERGENCY, NOW, NOW, frame_seq=None, battery_percent=80),
        BatteryReported(SOS, NOW, 80, battery_low=False),
    ]


def test_empty_action_raises_and_clears_nothing(
    bridge: Zigbee2MqttBridge, recorder: EventRecorder
) -> None:
    bridge.handle("zigbee2mqtt/sos", RESET, retained=False)
    assert recorder.events == []
    bridge.handle("zigbee2mqtt/sos", RESET_WITH_STATE, retained=False)
    assert recorder.events == [BatteryReported(SOS, NOW, 80)]
    assert not bridge.rejected


def test_each_press_counts_again(bridge: Zigbee2MqttBridge, recorder: EventRecorder) -> None:
    for payload in (PRESS, RESET, PRESS):
        bridge.handle("zigbee2mqtt/sos", payload, retained=False)
    assert len(recorder.presses()) == 2


@pytest.mark.parametrize("payload", [PRESS, RESET_WITH_STATE, b"not even json"])
def test_retained_state_is_history_not_news(
    bridge: Zigbee2MqttBridge, recorder: EventRecorder, payload: bytes
) -> None:
    bridge.handle("zigbee2mqtt/sos", payload, retained=True)
    assert recorder.events == []


@pytest.mark.parametrize(
    ("payload", "online"),
    [
        (b"online", True),
        (b"offline", False),
        (b" online\n", True),
        (b'{"state":"online"}', True),
        (b'{"state":"offline"}', False),
    ],
)
@pytest.mark.parametrize("retained", [False, True])
def test_availability(
    bridge: Zigbee2MqttBridge,
    recorder: EventRecorder,
    payload: bytes,
    online: bool,
    retained: bool,
) -> None:
    # Zigbee2MQTT publishes availability retained: a retained one is still current.
    bridge.handle("zigbee2mqtt/sos/availability", payload, retained=retained)
    assert recorder.events == [AvailabilityChanged(SOS, NOW, online)]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "bad_value"),
        (b"maybe", "bad_value"),
        (b"ONLINE", "bad_value"),
        (b'{"state":1}', "bad_value"),
        (b'{"state":"away"}', "bad_value"),
        (b"{}", "bad_value"),
        (b'{"state":', "not_json"),
    ],
)
def test_bad_availability_payload(
    bridge: Zigbee2MqttBridge, recorder: EventRecorder, payload: bytes, reason: str
) -> None:
    with pytest.raises(PayloadError) as info:
        bridge.handle("zigbee2mqtt/sos/availability", payload, retained=False)
    assert info.value.reason == reason
    assert recorder.events == []


def test_friendly_names_containing_slashes(
    bridge: Zigbee2MqttBridge, recorder: EventRecorder
) -> None:
    bridge.handle("zigbee2mqtt/ground floor/hall sos", PRESS, retained=False)
    bridge.handle("zigbee2mqtt/ground floor/hall sos/x", PRESS, retained=False)
    bridge.handle("zigbee2mqtt/ground floor/hall sos/availability", b"offline", retained=False)
    bridge.handle("zigbee2mqtt/ground floor/hall sos/x/availability", b"online", retained=False)

    assert [p.device for p in recorder.presses()] == [HALL, NESTED]
    assert [e for e in recorder.events if isinstance(e, AvailabilityChanged)] == [
        AvailabilityChanged(HALL, NOW, False),
        AvailabilityChanged(NESTED, NOW, True),
    ]
    assert not bridge.rejected


@pytest.mark.parametrize(
    "topic",
    ["zigbee2mqtt/stranger", "zigbee2mqtt/stranger/availability", "zigbee2mqtt/ground floor"],
)
def test_unknown_device_is_counted_not_raised(
    bridge: Zigbee2MqttBridge, recorder: EventRecorder, topic: str
) -> None:
    bridge.handle(topic, PRESS, retained=False)
    bridge.handle(topic, b"garbage", retained=False)
    assert recorder.events == []
    assert bridge.rejected == {"unknown_device": 2}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not_json"),
        (b"\xff\xfe", "not_json"),
        (b"", "not_json"),
        (b"[" * 10_000, "not_json"),  # nesting deeper than the parser recurses
        (b'[{"action":"emergency"}]', "not_object"),
        (b'"emergency"', "not_object"),
        (b"null", "not_object"),
        (b'{"action":5}', "bad_value"),
        (b'{"action":["emergency"]}', "bad_value"),
        (b'{"action":"' + b"x" * MAX_PAYLOAD_BYTES + b'"}', "too_large"),
    ],
    ids=lambda v: v[:30].decode(errors="replace") if isinstance(v, bytes) else v,
)
def test_bad_payload_raises_payload_error_with_a_reason(
    bridge: Zigbee2MqttBridge, recorder: EventRecorder, payload: bytes, reason: str
) -> None:
    with pytest.raises(PayloadError) as info:
        bridge.handle("zigbee2mqtt/sos", payload, retained=False)
    assert info.value.reason == reason
    assert isinstance(info.value, EdgeError)
    assert recorder.events == []


@pytest.mark.parametrize("battery", [b'"x"', b"150", b"-1", b"true", b"NaN"])
def test_bad_battery_is_counted_and_never_blocks_a_press(
    bridge: Zigbee2MqttBridge, recorder: EventRecorder, battery: bytes
) -> None:
    bridge.handle("zigbee2mqtt/sos", b'{"battery":' + battery + b"}", retained=False)
    assert recorder.events == []
    assert bridge.rejected["bad_value"] == 1

    bridge.handle(
        "zigbee2mqtt/sos", b'{"action":"emergency","battery":' + battery + b"}", retained=False
    )
    [event] = recorder.events
    assert isinstance(event, KeyPressed)
    assert event.key is Key.EMERGENCY
    assert event.battery_percent is None
    assert bridge.rejected["bad_value"] == 2


@pytest.mark.parametrize(
    "topic",
    [
        "zigbee2mqtt/bridge/logging",
        "zigbee2mqtt/bridge/info",
        "zigbee2mqtt/sos/set",
        "zigbee2mqtt/sos/get",
        "zigbee2mqtt/ground floor/hall sos/set",
    ],
)
def test_bridge_and_command_topics_are_ignored(
    bridge: Zigbee2MqttBridge, recorder: EventRecorder, topic: str
) -> None:
    for payload in (PRESS, b"online", b'{"state":"online"}', b"\xff garbage"):
        bridge.handle(topic, payload, retained=False)
    assert recorder.events == []
    assert not bridge.rejected


def test_custom_base_topic(recorder: EventRecorder) -> None:
    bridge = Zigbee2MqttBridge(
        BrokerEndpoint("127.0.0.1", 1, "u", "p"),
        {"sos": SOS},
        recorder,
        client_id="test-bridge-2",
        base_topic="home/z2m",
        clock=lambda: NOW,
    )
    bridge.handle("home/z2m/sos", PRESS, retained=False)
    bridge.handle("home/z2m/bridge/state", b'{"state":"online"}', retained=False)
    assert len(recorder.presses()) == 1


def test_a_device_kind_without_converter_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="toaster"):
        Zigbee2MqttBridge(
            BrokerEndpoint("127.0.0.1", 1, "u", "p"),
            {"toaster": DeviceRef("toaster-1", "toaster", "zigbee2mqtt")},
            EventRecorder(),
            client_id="test-bridge-3",
        )


# --- the converter on its own ------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "events"),
    [
        ({"action": "emergency"}, [KeyPressed(SOS, Key.EMERGENCY, NOW, NOW)]),
        (
            {"action": "emergency", "battery": 80.6},
            [
                KeyPressed(SOS, Key.EMERGENCY, NOW, NOW, battery_percent=81),
                BatteryReported(SOS, NOW, 81),
            ],
        ),
        ({"battery": 10, "battery_low": True}, [BatteryReported(SOS, NOW, 10, battery_low=True)]),
        ({"battery": 0}, [BatteryReported(SOS, NOW, 0)]),
        (
            {"battery": 100, "battery_low": "yes"},
            [
                BatteryReported(SOS, NOW, 100),
                Problem("bad_value", "battery_low 'yes' is not a boolean"),
            ],
        ),
        ({"action": "single"}, []),
        ({"linkquality": 144}, []),
        ({}, []),
    ],
)
def test_sos_converter(payload: dict[str, object], events: list[object]) -> None:
    assert CONVERTERS["sos_button"](SOS, payload, NOW) == events


# --- properties --------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
state_like = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(["emergency", "", "single"]) | json_values,
        "battery": st.integers(-5, 105) | st.floats() | json_values,
        "battery_low": json_values,
        "state": st.sampled_from(["online", "offline"]) | json_values,
    },
)
topics = st.sampled_from(
    [
        "zigbee2mqtt/sos",
        "zigbee2mqtt/sos/availability",
        "zigbee2mqtt/ground floor/hall sos",
        "zigbee2mqtt/unknown",
        "zigbee2mqtt/bridge/state",
        "zigbee2mqtt/sos/set",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    topic=topics,
    payload=st.binary(max_size=80)
    | (json_values | state_like).map(lambda v: json.dumps(v).encode()),
    retained=st.booleans(),
)
def test_handle_of_anything_raises_only_payload_error(
    topic: str, payload: bytes, retained: bool
) -> None:
    recorder = EventRecorder()
    bridge = Zigbee2MqttBridge(
        BrokerEndpoint("127.0.0.1", 1, "u", "p"), DEVICES, recorder, client_id="prop"
    )
    reason = None
    try:
        bridge.handle(topic, payload, retained=retained)
    except PayloadError as err:
        reason = err.reason
    assert reason in {None, "too_large", "not_json", "not_object", "bad_value"}
    if reason is not None:
        assert recorder.events == []  # a refused payload emits nothing, not half its events
    for event in recorder.events:
        if isinstance(event, BatteryReported):
            assert event.battery_percent is None or 0 <= event.battery_percent <= 100


def test_a_babbling_device_is_cut_off_but_its_presses_never_are(
    recorder: EventRecorder,
) -> None:
    now = [0.0]
    bridge = Zigbee2MqttBridge(
        BrokerEndpoint("127.0.0.1", 1, "u", "p"),
        DEVICES,
        recorder,
        client_id="flood",
        monotonic=lambda: now[0],
    )
    for _ in range(1500):  # far beyond any honest device's rate, all at one instant
        bridge.handle("zigbee2mqtt/sos", b'{"battery": 50}', retained=False)
    bridge.handle("zigbee2mqtt/sos", PRESS, retained=False)
    assert bridge.rejected["flood"] == 1500 - 300  # the burst passes, the rest is counted
    assert len(recorder.presses()) == 1
    # Another device's budget is its own; the budget refills with time (50/s).
    bridge.handle("zigbee2mqtt/ground floor/hall sos", b'{"battery": 50}', retained=False)
    assert recorder.events[-1].device == HALL
    now[0] += 1.0
    for _ in range(60):
        bridge.handle("zigbee2mqtt/sos", b'{"battery": 50}', retained=False)
    assert bridge.rejected["flood"] == 1500 - 300 + 10


class ConnectReason:
    """The part of paho's ReasonCode the bridge reads."""

    def __init__(self, failure: bool) -> None:
        self.is_failure = failure

    def __str__(self) -> str:
        return "Not authorized" if self.is_failure else "Success"


class SubscribingClient:
    def __init__(self) -> None:
        self.subscribed: list[str] = []

    def subscribe(self, topic: str, qos: int) -> None:
        self.subscribed.append(topic)


def test_a_refusing_home_broker_is_one_episode_heard_as_the_bridge_going_offline(
    bridge: Zigbee2MqttBridge, recorder: EventRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    client = SubscribingClient()
    for _ in range(4):  # paho retrying with back-off
        bridge._on_connect(client, None, None, ConnectReason(True), None)  # type: ignore[arg-type]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == ["Zigbee2MQTT broker refused the connection: Not authorized"]
    caplog.clear()  # the one error this test provokes, checked; any other still fails it
    assert [e.online for e in recorder.events if isinstance(e, AvailabilityChanged)] == [False]
    assert client.subscribed == []

    bridge._on_connect(client, None, None, ConnectReason(False), None)  # type: ignore[arg-type]
    assert not bridge.refused
    assert client.subscribed == ["zigbee2mqtt/#"]
