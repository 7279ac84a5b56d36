"""Valid examples the mutators start from: what real devices and gateways send.

Serial frames of every type, Zigbee2MQTT payloads as the devices in ``DOMAIN.md`` publish them,
and one or more wire messages of every v1 type, all built through the public classes so the
corpus follows the code when a layout changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

from edge.serial.framing import Frame
from edge.serial.payloads import (
    Ack,
    AckStage,
    Heartbeat,
    Indicate,
    KeyKind,
    KeyPress,
    Pattern,
    Payload,
    SampleBatch,
    SensorKind,
    SignalBlock,
    SignalKind,
    to_frame,
)
from protocol import (
    AlarmBody,
    AlarmKind,
    AlarmMessage,
    Channel,
    CommandBody,
    CommandKind,
    CommandMessage,
    EventBody,
    EventMessage,
    Origin,
    ReceiptBody,
    ReceiptMessage,
    SamplesBody,
    SamplesMessage,
    StatusBody,
    StatusMessage,
    TelemetryBatchBody,
    TelemetryBatchMessage,
    TelemetryBody,
    TelemetryMessage,
    TelemetryReading,
    TelemetrySeries,
    TelemetrySeriesBody,
    TelemetrySeriesMessage,
    TopicName,
    encode,
)
from protocol.messages import AccelTrace

GATEWAY_ID = "gw-fuzz"
WireMessage = (
    AlarmMessage
    | EventMessage
    | TelemetryMessage
    | TelemetryBatchMessage
    | SamplesMessage
    | StatusMessage
    | ReceiptMessage
    | CommandMessage
)


def _sample_batch(count: int) -> SampleBatch:
    return SampleBatch(
        SensorKind.ACCELEROMETER,
        1_000_000,
        tuple(0 if i == 0 else 200 for i in range(count)),
        tuple((i * 7 % 2000 - 1000, -32768 if i == 1 else 0, 1000) for i in range(count)),
    )


SERIAL_PAYLOADS: tuple[Payload, ...] = (
    *(KeyPress(key, age) for key in KeyKind for age in (0, 1_000)),
    KeyPress(KeyKind.EMERGENCY, 0xFFFFFFFF),
    Heartbeat(90, mains_powered=False, battery_low=False, uptime_s=0),
    Heartbeat(5, mains_powered=True, battery_low=True, uptime_s=0xFFFFFFFF),
    Heartbeat(100, mains_powered=False, battery_low=False, uptime_s=86_400),
    *(_sample_batch(n) for n in (0, 1, 50, SampleBatch.MAX_SAMPLES)),
    *(
        SignalBlock(SignalKind.BED_PRESSURE, 1_000_000, rate, (1_000_000, -(2**31), 2**31 - 1)[:n])
        for rate, n in ((100, 3), (1, 0), (0xFFFF, 1))
    ),
    SignalBlock(SignalKind.BED_PRESSURE, 0, 100, (1_000_000,) * SignalBlock.MAX_VALUES),
    *(Ack(seq, stage) for stage in AckStage for seq in (0, 0xFFFF)),
    Indicate(Pattern.PROMPT, Pattern.PROMPT, 30),
    Indicate(Pattern.OFF, Pattern.OFF, 0),
)


def serial_frames() -> list[Frame]:
    """One frame per example payload, with sequence numbers at the edges of the u16 range."""
    seqs = (0, 1, 0x5AA5, 0xFFFF)
    return [to_frame(p, seqs[i % len(seqs)]) for i, p in enumerate(SERIAL_PAYLOADS)]


# Zigbee2MQTT payloads as published (DOMAIN.md), by the converter kind that reads them.
Z2M_PAYLOADS: dict[str, tuple[str, ...]] = {
    "sos_button": (
        '{"action":"emergency","battery":80,"linkquality":144}',
        '{"action":""}',
        '{"action":"","battery":80,"linkquality":144}',
        '{"action":"single","battery":100,"voltage":3025}',
        '{"action":"hold"}',
    ),
    "fall_radar": (
        '{"fall_down_status":"maybe_fall","presence":true,"occupancy":true,'
        '"static_dwell_alarm":false}',
        '{"fall_down_status":"fall","presence":true}',
        '{"fall_down_status":"none","presence":false,"occupancy":false}',
    ),
    "motion_sensor": (
        '{"occupancy":true,"illuminance":12,"illuminance_lux":12,"battery":90,"voltage":3005}',
        '{"occupancy":false,"battery":89}',
    ),
    "door_contact": (
        '{"contact":false,"battery":80,"linkquality":120}',
        '{"contact":true,"battery":80,"voltage":2985}',
    ),
    "smart_plug": ('{"state":"ON","power":900,"energy":1.25}', '{"state":"OFF","power":0}'),
    # Other kit in the home (water leak SJCGQ11LM, gas JTQJ-BF-01LM/BW): state payloads that
    # a misconfigured kind mapping could route to any converter.
    "": (
        '{"water_leak":true,"battery_low":false,"battery":100}',
        '{"gas":true,"gas_density":120,"sensitivity":"high"}',
    ),
}
Z2M_AVAILABILITY = (b"online", b"offline", b'{"state":"online"}', b'{"state":"offline"}')
Z2M_BRIDGE_TOPICS = ("bridge/state", "bridge/devices", "bridge/logging")


def z2m_topic_names(kinds: list[str]) -> dict[str, str]:
    """A friendly name per converter kind; one of them with ``/`` in it, as users name them."""
    names = {kind: f"{kind}-1" for kind in kinds}
    if kinds:
        names[kinds[0]] = f"ground floor/hall {kinds[0]}"
    return names


def wire_messages() -> list[WireMessage]:
    """Messages of every v1 type, some with every optional part filled."""
    now = datetime(2024, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
    east = datetime(2024, 3, 1, 14, 29, 59, tzinfo=timezone(timedelta(hours=2)))
    env = {"gateway_id": GATEWAY_ID, "gateway_time": now}
    serial = Origin(transport="serial", device_kind="call_button", frame_seq=65535)
    trace = AccelTrace(t_s=[-0.02, 0.0, 0.02], g=[(0.0, 0.0, 1.0), (2.5, -1.0, 0.1), (0, 0, 0)])
    return [
        AlarmMessage(
            **env,
            device_id="btn-1",
            device_time=east,
            body=AlarmBody(
                kind=AlarmKind.EMERGENCY_CALL,
                priority=0,
                home_id="home-42",
                origin=serial,
                battery_percent=80,
            ),
        ),
        AlarmMessage(
            **env,
            device_id="pendant:1",
            body=AlarmBody(
                kind=AlarmKind.FALL,
                priority=0,
                home_id="home-42",
                origin=Origin(transport="gateway", device_kind="pendant"),
                trace=trace,
                detail={"since": "2024-03-01T10:00:00Z", "minutes": 45, "score": 0.93},
            ),
        ),
        EventMessage(
            **env, device_id="sos:hall", body=EventBody(kind="phantom_press", detail={"n": 3})
        ),
        TelemetryMessage(
            **env,
            device_id="btn-1",
            body=TelemetryBody(measurement="battery", fields={"percent": 79, "low": False}),
        ),
        TelemetryBatchMessage(
            **env,
            body=TelemetryBatchBody(
                readings=[
                    TelemetryReading(
                        measurement="vitals",
                        device_id="bed-1",
                        gateway_time=now,
                        fields={"heart_rate": 62, "respiration": 14.5, "in_bed": True},
                    ),
                    TelemetryReading(
                        measurement="env", gateway_time=east, fields={"room": "hall", "lux": 3.0}
                    ),
                ]
            ),
        ),
        TelemetrySeriesMessage(
            **env,
            body=TelemetrySeriesBody(
                series=[
                    TelemetrySeries(
                        measurement="vitals",
                        device_id="bed-1",
                        gateway_times_us=[1_795_000_000_000_000, 1_795_000_060_000_000],
                        fields={"heart_rate": [62, 61], "respiration": [14.5, 14.0]},
                    ),
                    TelemetrySeries(
                        measurement="env",
                        gateway_times_us=[1_795_000_000_000_000],
                        fields={"room": ["hall"], "in_bed": [True], "lux": [3]},
                    ),
                ]
            ),
        ),
        SamplesMessage(
            **env,
            body=SamplesBody(
                home_id="home-42",
                t_s=[10.0, 10.02, 10.041],
                g=[(0.0, 0.1, 0.98), (2.4, -1.1, 0.2), (0.0, 0.9, 0.1)],
                presses_s=[10.03],
            ),
        ),
        StatusMessage(
            **env,
            body=StatusBody(
                state="online", heartbeat_interval_s=60, home_id="home-42", outbox_depth=2
            ),
        ),
        StatusMessage(
            **env,
            body=StatusBody(state="offline", heartbeat_interval_s=30, home_id="home-42"),
        ),
        ReceiptMessage(
            **env, body=ReceiptBody(ref_id="0123456789abcdef0123456789abcdef", duplicate=True)
        ),
        CommandMessage(
            **env,
            body=CommandBody(
                kind=CommandKind.ALARM_HANDLED,
                alarm_id="0123456789abcdef0123456789abcdef",
                operator="ann",
            ),
        ),
        CommandMessage(
            **env,
            device_id="pendant:1",
            body=CommandBody(
                kind=CommandKind.FALL_PROMPT,
                alarm_id="fedcba9876543210fedcba9876543210",
                duration_s=30,
            ),
        ),
    ]


def wire_examples() -> list[tuple[str, bytes]]:
    """(topic, payload) of every example message, on its own topic."""
    return [
        (str(TopicName(GATEWAY_ID, Channel(message.type))), encode(message))
        for message in wire_messages()
    ]


def vocabulary(texts: list[str]) -> tuple[list[str], list[object]]:
    """Every key and every scalar in the JSON ``texts``, in first-seen order."""
    keys: dict[str, None] = {}
    scalars: dict[str, object] = {}
    for text in texts:
        for value in _walk(json.loads(text)):
            if isinstance(value, dict):
                keys.update(dict.fromkeys(value))
            elif not isinstance(value, list):
                scalars.setdefault(repr(value), value)
    return list(keys), list(scalars.values())


def _walk(value: object) -> Iterator[object]:
    yield value
    if isinstance(value, dict):
        for child in value.values():
            yield from _walk(child)
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child)
