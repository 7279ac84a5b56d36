"""One valid message of every v1 type, built through the public models (never as raw JSON)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from pydantic import BaseModel

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
    HomeConfigBody,
    HomeConfigMessage,
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
)
from protocol.home_config import ConfiguredDevice, DetectorSettings, ResidentProfile

GATEWAY_ID = "gw-7"
GATEWAY_TIME = datetime(2024, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
# A device clock two hours east of UTC: the offset must survive the round trip.
DEVICE_TIME = datetime(2024, 3, 1, 14, 29, 59, tzinfo=timezone(timedelta(hours=2)))
ALARM_ID = "0123456789abcdef0123456789abcdef"


def sample_messages(gateway_id: str = GATEWAY_ID) -> dict[Channel, BaseModel]:
    envelope = {"gateway_id": gateway_id, "gateway_time": GATEWAY_TIME}
    return {
        Channel.ALARM: AlarmMessage(
            **envelope,
            device_id="btn-1",
            device_time=DEVICE_TIME,
            body=AlarmBody(
                kind=AlarmKind.EMERGENCY_CALL,
                priority=0,
                home_id="home-42",
                origin=Origin(transport="serial", device_kind="call_button", frame_seq=65535),
                battery_percent=80,
            ),
        ),
        Channel.EVENT: EventMessage(
            **envelope,
            device_id="sos:hall",
            body=EventBody(kind="phantom_press", detail={"n": 3, "x": 1.5, "ok": True, "s": "t"}),
        ),
        Channel.TELEMETRY: TelemetryMessage(
            **envelope,
            device_id="btn-1",
            body=TelemetryBody(measurement="battery", fields={"percent": 79, "low": False}),
        ),
        Channel.TELEMETRY_BATCH: TelemetryBatchMessage(
            **envelope,
            body=TelemetryBatchBody(
                readings=[
                    TelemetryReading(
                        measurement="vitals",
                        device_id="bed-1",
                        gateway_time=GATEWAY_TIME - timedelta(minutes=1),
                        fields={"heart_bpm": 61.5, "occupied": True},
                    ),
                    TelemetryReading(
                        measurement="battery",
                        gateway_time=DEVICE_TIME,
                        fields={"percent": 79},
                    ),
                ]
            ),
        ),
        Channel.TELEMETRY_SERIES: TelemetrySeriesMessage(
            **envelope,
            body=TelemetrySeriesBody(
                series=[
                    TelemetrySeries(
                        measurement="vitals",
                        device_id="bed-2",
                        gateway_times_us=[1_709_295_000_000_000, 1_709_295_060_000_000],
                        fields={"heart_bpm": [62.0, 63.5], "occupied": [True, True]},
                    ),
                    TelemetrySeries(
                        measurement="battery",
                        gateway_times_us=[1_709_295_000_000_000],
                        fields={"percent": [79]},
                    ),
                ]
            ),
        ),
        Channel.STATUS: StatusMessage(
            **envelope,
            body=StatusBody(
                state="online",
                heartbeat_interval_s=60,
                home_id="home-42",
                outbox_depth=2,
                software="1.0",
            ),
        ),
        Channel.RECEIPT: ReceiptMessage(
            **envelope, body=ReceiptBody(ref_id=ALARM_ID, duplicate=True)
        ),
        Channel.COMMAND: CommandMessage(
            **envelope,
            body=CommandBody(kind=CommandKind.ALARM_HANDLED, alarm_id=ALARM_ID, operator="ann"),
        ),
        Channel.CONFIG: HomeConfigMessage(**envelope, body=sample_home_config()),
        Channel.SAMPLES: SamplesMessage(
            **envelope,
            device_id="wearable-1",
            body=SamplesBody(
                home_id="home-42",
                t_s=[1000.0, 1000.02],
                g=[(0.01, -0.98, 0.1), (0.02, -1.01, 0.09)],
                presses_s=[1000.01],
            ),
        ),
    }


def sample_home_config(revision: int = 3) -> HomeConfigBody:
    return HomeConfigBody(
        revision=revision,
        home_id="home-42",
        devices={
            "btn-1": ConfiguredDevice(
                kind="call_button", transport="serial", port="socket://10.0.0.9:7001"
            ),
            "sos:hall": ConfiguredDevice(kind="sos_button", transport="zigbee2mqtt", room="hall"),
            "bed-1": ConfiguredDevice(
                kind="bed_sensor", transport="zigbee2mqtt", room="bedroom", heartbeat_s=600.5
            ),
        },
        rooms=["hall", "bedroom"],
        resident=ResidentProfile(dementia=True, checkin_due="09:30", timezone="Asia/Shanghai"),
        detectors=DetectorSettings(fall_cancel_window_s=20, night_bed_exit_s=900),
        heartbeat_interval_s=60,
    )


def topic_of(channel: Channel, gateway_id: str = GATEWAY_ID) -> str:
    return str(TopicName(gateway_id, channel))
