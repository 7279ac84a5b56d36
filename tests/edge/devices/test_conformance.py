"""The conformance suite every registered device kind passes, whatever its transport:
recorded frames and payloads decode as written in its definition (on a real pty for serial),
availability reaches supervision, silence expires on the kind's own interval, ids are unique.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from firmware_sim.ports import PtyPort
from hypothesis import given
from hypothesis import strategies as st

from edge.devices import REGISTRY, DeviceKind, Example, Fingerprint, Registry, catalogue
from edge.devices.capabilities import Keys, Samples
from edge.devices.conformance import decode_example, summary
from edge.errors import PayloadError
from edge.events import AvailabilityChanged, DeviceRef
from edge.serial.framing import Frame
from edge.serial.link import SerialLink
from edge.zigbee2mqtt.bridge import Zigbee2MqttBridge
from gateway.config import GatewaySettings
from gateway.devicewatch import DeviceWatch
from protocol.mqtt import BrokerEndpoint
from tests.edge.recording import EventRecorder

KINDS = list(REGISTRY)
EXAMPLES = [
    pytest.param(kind, example, id=f"{kind.name}-{i}")
    for kind in KINDS
    for i, example in enumerate(kind.examples)
]
KIND_TRANSPORTS = [
    pytest.param(kind, transport, id=f"{kind.name}-{transport}")
    for kind in KINDS
    for transport in kind.transports
]
DEADLINE_S = 5.0


# --- the table ---------------------------------------------------------------------------


def test_every_definition_is_registered() -> None:
    defined = [v for v in vars(catalogue).values() if isinstance(v, DeviceKind)]
    unregistered = [k.name for k in defined if k.name not in REGISTRY]
    assert unregistered == []
    assert len(defined) == len(REGISTRY)


def test_two_kinds_never_share_a_name_or_a_fingerprint() -> None:
    prints = [p for k in KINDS for p in k.fingerprints]
    assert len(prints) == len(set(prints))
    assert len({k.name for k in KINDS}) == len(KINDS)
    twin = DeviceKind(
        "pir_twin", "clone", catalogue.MOTION_SENSOR.capabilities, {"zigbee2mqtt": 3600.0},
        fingerprints=(Fingerprint("zigbee2mqtt", "RTCGQ11LM"),),
    )  # fmt: skip
    with pytest.raises(ValueError, match="share the fingerprint 'RTCGQ11LM'"):
        Registry([*KINDS, twin])
    with pytest.raises(ValueError, match="registered twice"):
        Registry([*KINDS, catalogue.CALL_BUTTON])


def test_a_definition_must_be_coherent() -> None:
    with pytest.raises(ValueError, match="transport"):
        DeviceKind("x", "x", (), {})
    with pytest.raises(ValueError, match="heartbeat"):
        DeviceKind("x", "x", (), {"serial": 0.1})
    with pytest.raises(ValueError, match="fingerprint on a transport"):
        DeviceKind("x", "x", (), {"serial": 60.0}, (Fingerprint("zigbee2mqtt", "M"),))


def test_discovery_names_the_kind_of_each_model() -> None:
    for kind in KINDS:
        for print_ in kind.fingerprints:
            assert REGISTRY.identify(print_.transport, print_.model) is kind
    assert REGISTRY.identify("zigbee2mqtt", "a toaster") is None


def test_the_listing_command(capsys: pytest.CaptureFixture[str]) -> None:
    from edge.devices.__main__ import main

    main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"devices: kinds={len(REGISTRY)}"
    assert len(lines) == len(REGISTRY) + 1
    for kind, line in zip(KINDS, lines, strict=False):
        assert line.startswith(kind.name)
        assert f"transports={','.join(kind.transports)}" in line


# --- per kind and transport ----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "transport"), KIND_TRANSPORTS)
def test_each_transport_has_recorded_examples_that_raise_events(
    kind: DeviceKind, transport: str
) -> None:
    mine = [e for e in kind.examples if e.transport == transport]
    assert any(e.expect and e.expect[0][0] not in ("error", "problem") for e in mine), (
        f"{kind.name} has no recorded {transport} message that decodes to an event"
    )


@pytest.mark.parametrize(("kind", "example"), EXAMPLES)
def test_recorded_messages_decode_as_defined(kind: DeviceKind, example: Example) -> None:
    assert tuple(decode_example(kind, example)) == example.expect, example.note


@pytest.mark.parametrize(("kind", "transport"), KIND_TRANSPORTS)
def test_silence_expires_after_two_of_the_kinds_intervals(kind: DeviceKind, transport: str) -> None:
    interval = kind.heartbeat_s[transport]  # type: ignore[index]
    device = DeviceRef("dev-1", kind.name, transport)  # type: ignore[arg-type]
    elapsed = [0.0]  # the monotonic clock silence is measured on
    watch = DeviceWatch({"dev-1": interval}, 0.0, monotonic=lambda: elapsed[0])
    elapsed[0] = 10.0
    watch.heard("dev-1", 10.0)
    elapsed[0] = 10.0 + 2 * interval
    assert watch.silent(elapsed[0], {"dev-1": device}) == []
    elapsed[0] += 0.001
    [alarm] = watch.silent(elapsed[0], {"dev-1": device})
    assert (alarm.device, alarm.since) == (device, 10.0)
    assert watch.heard("dev-1", 10.0 + 3 * interval) is True


def test_a_call_button_is_supervised_at_minute_level() -> None:
    assert 2 * catalogue.CALL_BUTTON.heartbeat_s["serial"] <= 300


@pytest.mark.parametrize("kind", REGISTRY.on("zigbee2mqtt"), ids=lambda k: k.name)
def test_zigbee_availability_reaches_supervision(kind: DeviceKind, recorder: EventRecorder) -> None:
    device = DeviceRef("room/dev", kind.name, "zigbee2mqtt")
    bridge = Zigbee2MqttBridge(
        BrokerEndpoint("127.0.0.1", 1, "u", "p"), {"room/dev": device}, recorder, client_id="c"
    )
    bridge.handle("zigbee2mqtt/room/dev/availability", b'{"state":"offline"}', retained=True)
    bridge.handle("zigbee2mqtt/room/dev/availability", b"online", retained=True)
    assert recorder.events == [
        AvailabilityChanged(device, recorder.events[0].received_at, online=False),
        AvailabilityChanged(device, recorder.events[1].received_at, online=True),
    ]
    watch = DeviceWatch({"room/dev": kind.heartbeat_s["zigbee2mqtt"]}, 0.0)
    first = recorder.events[0]
    assert isinstance(first, AvailabilityChanged)
    alarm = watch.on_availability(first)
    assert alarm is not None
    assert alarm.kind.value == "device_silent"


@pytest.mark.parametrize("kind", REGISTRY.on("zigbee2mqtt"), ids=lambda k: k.name)
@given(state=st.dictionaries(st.sampled_from(["action", "battery", "battery_low", "occupancy",
    "contact", "state", "fall_down_status", "smoke", "gas", "water_leak", "presence"]),
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.lists(st.integers(), max_size=2)))  # fmt: skip
def test_a_kinds_decoder_only_ever_refuses_with_a_reason(
    kind: DeviceKind, state: dict[str, object]
) -> None:
    device = DeviceRef("dev-1", kind.name, "zigbee2mqtt")
    reason, decoded = None, []
    try:
        decoded = kind.decode_z2m(device, state, 1.0)
    except PayloadError as err:
        reason = err.reason
    assert reason in (None, "bad_value")
    for item in decoded:
        summary(item)  # every output is a known event or a problem with a reason


# --- serial kinds on a real pseudo-terminal -------------------------------------------------


@pytest.fixture
def port(tmp_path: Path) -> Iterator[PtyPort]:
    pty = PtyPort(tmp_path / "tty")
    yield pty
    pty.close()


@pytest.mark.parametrize("kind", REGISTRY.on("serial"), ids=lambda k: k.name)
def test_serial_examples_decode_the_same_through_a_real_pty(
    kind: DeviceKind, port: PtyPort, recorder: EventRecorder
) -> None:
    device = DeviceRef("dev-1", kind.name, "serial")
    link = SerialLink(device, str(port.link), recorder)
    link.start()
    try:
        assert recorder.wait_until(lambda: recorder.availability() == [True], DEADLINE_S)
        expected: list[tuple[object, ...]] = []
        refused: list[str] = []
        for seq, example in enumerate(e for e in kind.examples if e.transport == "serial"):
            assert isinstance(example.message, tuple)
            frame_type, payload = example.message
            port.write(Frame(frame_type, seq, payload).encode())
            for item in example.expect:
                if item[0] == "error":
                    refused.append(str(item[1]))
                else:
                    expected.append(item)
        decoded = lambda: [  # noqa: E731
            summary(e) for e in recorder.events if not isinstance(e, AvailabilityChanged)
        ]
        assert recorder.wait_until(lambda: len(decoded()) == len(expected), DEADLINE_S)
        assert recorder.wait_until(lambda: sum(link.rejected.values()) == len(refused), DEADLINE_S)
        assert decoded() == expected
        assert sorted(link.rejected.elements()) == sorted(refused)
    finally:
        link.stop()


def test_a_serial_kind_refuses_keys_and_sensors_it_does_not_have() -> None:
    pendant = catalogue.FALL_PENDANT
    keys = pendant.capability(Keys)
    assert keys is not None
    assert [k.value for k in keys.keys] == ["emergency", "service"]
    family = Example("serial", (Frame(0x10, 0, b"").type, bytes.fromhex("0300000000")), ())
    assert decode_example(pendant, family) == [("error", "unexpected_key")]
    assert catalogue.CALL_BUTTON.capability(Samples) is None


def test_a_zigbee_only_kind_cannot_be_put_on_a_serial_port() -> None:
    with pytest.raises(ValueError, match="no serial form"):
        SerialLink(DeviceRef("d", "motion_sensor", "serial"), "/dev/null", lambda e: None)


# --- ids and configuration -------------------------------------------------------------------

BASE = {"id": "gw-1", "home_id": "home-1", "mqtt_password": "x"}


def test_configuration_names_only_registered_kinds_on_their_transports() -> None:
    settings = GatewaySettings(
        **BASE,
        serial_devices={
            "btn": "/dev/ttyUSB0",
            "pendant": {"port": "/dev/ttyUSB1", "kind": "fall_pendant"},
        },
        z2m_devices={"hall-pir": "motion_sensor", "kitchen-smoke": "smoke_alarm"},
    )  # fmt: skip
    assert {d: (r.device_kind, r.transport) for d, r in settings.devices().items()} == {
        "btn": ("call_button", "serial"),
        "pendant": ("fall_pendant", "serial"),
        "hall-pir": ("motion_sensor", "zigbee2mqtt"),
        "kitchen-smoke": ("smoke_alarm", "zigbee2mqtt"),
    }
    assert settings.heartbeat_intervals() == {
        "btn": 150.0, "pendant": 150.0, "hall-pir": 3600.0, "kitchen-smoke": 3600.0,
    }  # fmt: skip
    for bad, message in [
        ({"z2m_devices": {"x": "toaster"}}, "unknown device kind 'toaster'"),
        ({"z2m_devices": {"x": "call_button"}}, "call_button has no zigbee2mqtt form"),
        ({"serial_devices": {"x": {"port": "p", "kind": "smoke_alarm"}}}, "no serial form"),
        ({"serial_devices": {"x": "p"}, "z2m_devices": {"x": "sos_button"}}, "used on serial and"),
    ]:
        with pytest.raises(ValueError, match=message):
            GatewaySettings(**BASE, **bad)  # type: ignore[arg-type]


def test_bridge_devices_listing_is_checked_against_the_configuration(
    recorder: EventRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.zigbee2mqtt.bridge")
    devices = {
        "hall-pir": DeviceRef("hall-pir", "motion_sensor", "zigbee2mqtt"),
        "front door": DeviceRef("front door", "motion_sensor", "zigbee2mqtt"),  # wrong kind
        "attic": DeviceRef("attic", "smoke_alarm", "zigbee2mqtt"),  # not paired
    }
    bridge = Zigbee2MqttBridge(
        BrokerEndpoint("127.0.0.1", 1, "u", "p"), devices, recorder, client_id="c"
    )
    listing = [
        {"friendly_name": "Coordinator", "type": "Coordinator", "definition": None},
        {"friendly_name": "hall-pir", "type": "EndDevice", "definition": {"model": "RTCGQ11LM"}},
        {"friendly_name": "front door", "type": "EndDevice", "definition": {"model": "MCCGQ11LM"}},
        {"friendly_name": "new plug", "type": "Router", "definition": {"model": "TS011F_plug_1"}},
        {"friendly_name": "mystery", "type": "EndDevice", "definition": None},
    ]
    bridge.handle("zigbee2mqtt/bridge/devices", json.dumps(listing).encode(), retained=True)
    assert {n: k.name if k else None for n, k in bridge.discovered.items()} == {
        "hall-pir": "motion_sensor",
        "front door": "door_contact",
        "new plug": "smart_plug",
        "mystery": None,
    }
    text = caplog.text
    assert (
        "'front door' is configured as motion_sensor but its model MCCGQ11LM is a door_contact"
        in text
    )
    assert "'attic' is not paired" in text
    assert "'new plug' (TS011F_plug_1) is paired but not configured" in text
    assert recorder.events == []
    with pytest.raises(PayloadError, match="not a list"):
        bridge.handle("zigbee2mqtt/bridge/devices", b"{}", retained=True)


def test_the_bridges_own_state_is_its_availability(recorder: EventRecorder) -> None:
    bridge = Zigbee2MqttBridge(
        BrokerEndpoint("127.0.0.1", 1, "u", "p"), {}, recorder, client_id="c"
    )
    bridge.handle("zigbee2mqtt/bridge/state", b'{"state":"offline"}', retained=True)
    bridge.handle("zigbee2mqtt/bridge/state", b"online", retained=True)
    assert [(e.device.device_id, e.online) for e in recorder.events] == [  # type: ignore[union-attr]
        ("zigbee2mqtt", False),
        ("zigbee2mqtt", True),
    ]
