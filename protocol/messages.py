"""pydantic models of every v1 message, split by direction.

Every message is one JSON object, the *envelope*: schema version ``v``, a unique ``id``, its
``type``, the ``gateway_id`` and ``device_id`` it concerns, the time the device reported for the
event (``device_time``, null when the device has no clock) and the time the gateway received it
(``gateway_time``), and a typed ``body``. Unknown fields are refused, so a typo never passes
silently; a newer schema has a new ``v``.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BeforeValidator,
    Field,
    StringConstraints,
    model_validator,
)

from protocol.fields import DEVICE_ID_PATTERN as DEVICE_ID_PATTERN
from protocol.fields import DeviceId as DeviceId
from protocol.fields import ShortText as ShortText
from protocol.fields import StrictModel as _Strict
from protocol.home_config import HomeConfigBody
from protocol.topics import GATEWAY_ID_PATTERN, Channel

SCHEMA_VERSION: Literal[1] = 1

MessageId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
GatewayId = Annotated[str, StringConstraints(pattern=GATEWAY_ID_PATTERN)]


# A time must exist in UTC: 0001-01-01T00:00+01:00 is before year 1 there, and the centre,
# which stores every time in UTC, could never store it (a poison message failing at the store
# on every resend). Bounds, not a Python validator: pydantic-core compares them in UTC, in
# Rust, so the check costs nothing per reading of a 1000-reading telemetry batch.
_FIRST_UTC = datetime(1, 1, 1, tzinfo=UTC)
_LAST_UTC = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
Timestamp = Annotated[AwareDatetime, Field(ge=_FIRST_UTC, le=_LAST_UTC)]
Scalar = float | int | bool | str


def _version_as_sent(value: object) -> object:
    """The version as a JSON integer: ``Literal[1]`` alone takes ``1.0`` and ``true`` too,
    strict or not, and the contract refuses them (§12). Checked in the one validation of the
    payload (a second parse for the version alone cost a quarter of a microsecond per reading
    of a telemetry batch); an absent ``v``, which the default fills, the decoder refuses."""
    if type(value) is not int:
        raise ValueError(f"schema version {value!r} is not an integer")
    return value


Version = Annotated[Literal[1], BeforeValidator(_version_as_sent)]


def new_message_id() -> str:
    """A fresh random message id (UUID4 as 32 hex digits): unique without coordination."""
    return uuid.uuid4().hex


class AlarmKind(StrEnum):
    """What the alarm is about; the social-alarm event code."""

    EMERGENCY_CALL = "emergency_call"  # one-key call button, emergency key or SOS button
    SERVICE_REQUEST = "service_request"  # meal, escort, cleaning ... becomes a service order
    FAMILY_CALL = "family_call"  # "call my family" key
    FALL = "fall"
    INACTIVITY = "inactivity"
    DEVICE_SILENT = "device_silent"  # radio test transmission missing
    GATEWAY_OFFLINE = "gateway_offline"  # the whole home is unprotected (raised by the centre)
    NIGHT_BED_EXIT = "night_bed_exit"  # out of bed at night and not back
    WANDERING = "wandering"  # out of the front door at night and not back
    MISSED_CHECKIN = "missed_checkin"  # no "I'm OK" press by the agreed time
    LOW_BATTERY = "low_battery"
    SMOKE = "smoke"  # smoke alarm went off
    GAS = "gas"  # gas alarm went off
    WATER_LEAK = "water_leak"  # water on the floor: a slip hazard, a burst pipe
    VITAL_SIGNS = "vital_signs"  # in bed: a breathing pause, or rates outside the limits
    GATEWAY_FAULT = "gateway_fault"  # the gateway cannot store alarms (disk full, I/O error)
    SERVER_FAULT = "server_fault"  # the centre could not store alarms for a while (its own)


# Default priority 0 (most urgent) .. 9, as in SCAIP's optional priority.
DEFAULT_PRIORITY: dict[AlarmKind, int] = {
    AlarmKind.EMERGENCY_CALL: 0,
    AlarmKind.FALL: 0,
    AlarmKind.SMOKE: 0,
    AlarmKind.GAS: 0,
    AlarmKind.INACTIVITY: 1,
    AlarmKind.VITAL_SIGNS: 1,
    AlarmKind.WANDERING: 1,
    AlarmKind.NIGHT_BED_EXIT: 2,
    AlarmKind.MISSED_CHECKIN: 3,
    AlarmKind.FAMILY_CALL: 4,
    AlarmKind.WATER_LEAK: 4,
    AlarmKind.GATEWAY_OFFLINE: 3,
    AlarmKind.GATEWAY_FAULT: 3,
    AlarmKind.SERVER_FAULT: 3,
    AlarmKind.DEVICE_SILENT: 5,
    AlarmKind.SERVICE_REQUEST: 6,
    AlarmKind.LOW_BATTERY: 7,
}


class Origin(_Strict):
    """Where the alarm started on the home side, so the answer can go back to that device."""

    # "cloud": a wearable connected to the centre directly, whose fall the centre detected.
    transport: Literal["serial", "zigbee2mqtt", "gateway", "cloud"]
    device_kind: ShortText
    # Serial: the frame's sequence number; Zigbee2MQTT: absent (payloads carry none).
    frame_seq: int | None = Field(default=None, ge=0, le=0xFFFF)


MAX_TRACE_SAMPLES = 2000


class AccelTrace(_Strict):
    """The acceleration around a fall's impact, for the console's plot.

    ``t_s`` are seconds relative to the impact (negative before it), as sampled by the device
    (spacing may be irregular); ``g`` the three axes in g, in the device's own orientation.
    """

    t_s: list[float] = Field(max_length=MAX_TRACE_SAMPLES)
    g: list[tuple[float, float, float]] = Field(max_length=MAX_TRACE_SAMPLES)

    @model_validator(mode="after")
    def _same_length(self) -> AccelTrace:
        if len(self.t_s) != len(self.g):
            raise ValueError("t_s and g must have one entry per sample")
        return self


MAX_BATCH_SAMPLES = 2000  # 10 s at 200 Hz; a JSON batch this long stays far below 256 KiB
MAX_BATCH_PRESSES = 16


class SamplesBody(_Strict):
    """A batch of a cloud wearable's accelerometer samples, for the centre's fall detector.

    ``t_s`` is the wearable's own clock in seconds (uptime will do), increasing within and
    across batches; spacing may be irregular, 20 to 200 Hz. ``g`` the three axes in g, in the
    device's own orientation. ``presses_s``: device times of key presses since the previous
    batch ("I'm all right" while a possible fall is held). ``home_id`` as the device was set
    up; the centre's own mapping of the wearable to a home wins, as for a gateway.
    """

    home_id: ShortText
    t_s: list[float] = Field(min_length=1, max_length=MAX_BATCH_SAMPLES)
    g: list[tuple[float, float, float]] = Field(min_length=1, max_length=MAX_BATCH_SAMPLES)
    presses_s: list[float] = Field(default_factory=list, max_length=MAX_BATCH_PRESSES)

    @model_validator(mode="after")
    def _one_time_per_sample(self) -> SamplesBody:
        if len(self.t_s) != len(self.g):
            raise ValueError("t_s and g must have one entry per sample")
        if any(later < earlier for earlier, later in itertools.pairwise(self.t_s)):
            # Across batches a clock going back is a restarted wearable; within one it is a
            # broken device, and the detector cannot use the batch.
            raise ValueError("t_s must not go backwards within a batch")
        return self


class AlarmBody(_Strict):
    kind: AlarmKind
    priority: int = Field(ge=0, le=9)
    home_id: ShortText
    origin: Origin
    battery_percent: int | None = Field(default=None, ge=0, le=100)
    trace: AccelTrace | None = None
    # What a home detector saw, for the operator (e.g. since when nothing has moved).
    detail: dict[str, Scalar] = Field(default_factory=dict, max_length=32)


class EventBody(_Strict):
    """Something worth recording that is not an alarm (a cancelled prompt, a phantom press...)."""

    kind: ShortText
    detail: dict[str, Scalar] = Field(default_factory=dict, max_length=64)


MeasurementName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
TelemetryFields = Annotated[dict[str, Scalar], Field(min_length=1, max_length=64)]


class TelemetryBody(_Strict):
    """One measurement point; the server writes it to the telemetry store."""

    measurement: MeasurementName
    fields: TelemetryFields


MAX_BATCH_READINGS = 1000  # a minute of a second-by-second sensor, or a backlog in slices


class TelemetryReading(_Strict):
    """One point of a `TelemetryBatchBody`: a `TelemetryBody` with its own device and time
    (``gateway_time``: when the gateway received the reading, as in a ``telemetry`` message)."""

    measurement: MeasurementName
    device_id: DeviceId | None = None
    gateway_time: Timestamp
    fields: TelemetryFields


# A reading's time in a series: microseconds since the Unix epoch, within UTC's years 1-9999
# (as `Timestamp`), checked in Rust like every bound here.
_FIRST_UTC_US = -62_135_596_800_000_000
_LAST_UTC_US = 253_402_300_799_999_999
EpochMicros = Annotated[int, Field(ge=_FIRST_UTC_US, le=_LAST_UTC_US)]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_micros(time: datetime) -> int:
    """``time`` (timezone-aware) as `EpochMicros`, exactly (``timestamp()`` is a float)."""
    return (time - _EPOCH) // _MICROSECOND


class TelemetrySeries(_Strict):
    """Readings of one device's measurement, column by column: each field a list of values,
    one per time in ``gateway_times_us``.

    Why columns: a home's sensors report the same fields again and again, and a reading as an
    object repeats its measurement, device, field names and an ISO time each time. As columns
    a reading costs its values alone: under a third of the bytes, and the centre validates a
    column in one pass instead of an object per reading (telemetry is most of its ingest).
    """

    measurement: MeasurementName
    device_id: DeviceId | None = None
    # When the gateway received each reading (a ``telemetry`` message's ``gateway_time``).
    gateway_times_us: list[EpochMicros] = Field(min_length=1, max_length=MAX_BATCH_READINGS)
    fields: Annotated[dict[str, list[Scalar]], Field(min_length=1, max_length=64)]

    @model_validator(mode="after")
    def _columns_as_long_as_times(self) -> TelemetrySeries:
        count = len(self.gateway_times_us)
        for name, column in self.fields.items():
            if len(column) != count:
                raise ValueError(
                    f"field {name!r} has {len(column)} values for {count} gateway_times_us"
                )
        return self


class TelemetryBatchBody(_Strict):
    """Many points in one message: what a gateway has gathered (its backlog after an outage,
    a sensor that reports more often than it is worth a message), written like ``telemetry``."""

    readings: list[TelemetryReading] = Field(min_length=1, max_length=MAX_BATCH_READINGS)


class TelemetrySeriesBody(_Strict):
    """What a `TelemetryBatchBody` carries, as columns: at most `MAX_BATCH_READINGS` readings
    in all its series together."""

    series: list[TelemetrySeries] = Field(min_length=1, max_length=MAX_BATCH_READINGS)

    @model_validator(mode="after")
    def _not_too_many_readings(self) -> TelemetrySeriesBody:
        count = sum(len(one.gateway_times_us) for one in self.series)
        if count > MAX_BATCH_READINGS:
            raise ValueError(f"{count} readings in the series; at most {MAX_BATCH_READINGS}")
        return self


class StatusBody(_Strict):
    """Gateway heartbeat (retained) and, with ``state=offline``, its last will."""

    state: Literal["online", "offline"]
    heartbeat_interval_s: int = Field(ge=1, le=86_400)
    home_id: ShortText
    outbox_depth: int = Field(default=0, ge=0)
    software: ShortText = ""


class ReceiptBody(_Strict):
    """The server's application-level OK: the message ``ref_id`` is stored at the centre.

    Only this removes an alarm from the gateway's outbox; an MQTT PUBACK does not.
    """

    ref_id: MessageId
    duplicate: bool = False


class CommandKind(StrEnum):
    ALARM_HANDLED = "alarm_handled"  # an operator took the alarm: tell the resident help is coming
    # To a cloud wearable: the centre holds a possible fall; buzz, a press in the window cancels.
    FALL_PROMPT = "fall_prompt"


class CommandBody(_Strict):
    kind: CommandKind
    alarm_id: MessageId
    operator: ShortText = ""
    # fall_prompt only: how long the prompt lasts, s. None is left out of the payload, so an
    # alarm_handled command is byte for byte what gateways that predate it accept.
    duration_s: int | None = Field(default=None, ge=0, le=300)


class _Envelope(_Strict):
    v: Version = SCHEMA_VERSION
    id: MessageId = Field(default_factory=new_message_id)
    gateway_id: GatewayId
    device_id: DeviceId | None = None
    device_time: Timestamp | None = None
    gateway_time: Timestamp

    @classmethod
    def channel(cls) -> Channel:
        return Channel(cls.model_fields["type"].default)


class AlarmMessage(_Envelope):
    type: Literal["alarm"] = "alarm"
    body: AlarmBody


class EventMessage(_Envelope):
    type: Literal["event"] = "event"
    body: EventBody


class TelemetryMessage(_Envelope):
    type: Literal["telemetry"] = "telemetry"
    body: TelemetryBody


class _ManyDevicesEnvelope(_Envelope):
    """A message about several of the gateway's devices: its body names each point's device,
    the envelope none (a ``device_id`` there is refused rather than left to mean something)."""

    @model_validator(mode="after")
    def _devices_in_body(self) -> _ManyDevicesEnvelope:
        if self.device_id is not None:
            raise ValueError("this message names its devices in its body, not the envelope")
        return self


class TelemetryBatchMessage(_ManyDevicesEnvelope):
    """Points of any of the gateway's devices: each reading names its device."""

    type: Literal["telemetry_batch"] = "telemetry_batch"
    body: TelemetryBatchBody


class TelemetrySeriesMessage(_ManyDevicesEnvelope):
    """Points of any of the gateway's devices as columns: each series names its device. A
    message type of its own, so ``telemetry_batch`` keeps its v1 shape."""

    type: Literal["telemetry_series"] = "telemetry_series"
    body: TelemetrySeriesBody


class StatusMessage(_Envelope):
    type: Literal["status"] = "status"
    body: StatusBody


class ReceiptMessage(_Envelope):
    type: Literal["receipt"] = "receipt"
    body: ReceiptBody


class CommandMessage(_Envelope):
    type: Literal["command"] = "command"
    body: CommandBody


class SamplesMessage(_Envelope):
    """From a cloud wearable, which is its own gateway: ``gateway_id`` is its broker account."""

    type: Literal["samples"] = "samples"
    body: SamplesBody


class HomeConfigMessage(_Envelope):
    """The home's whole configuration from the centre (retained); see protocol.home_config."""

    type: Literal["config"] = "config"
    body: HomeConfigBody


UplinkMessage = Annotated[
    AlarmMessage
    | EventMessage
    | TelemetryMessage
    | TelemetryBatchMessage
    | TelemetrySeriesMessage
    | StatusMessage
    | SamplesMessage,
    Field(discriminator="type"),
]
DownlinkMessage = Annotated[
    ReceiptMessage | CommandMessage | HomeConfigMessage, Field(discriminator="type")
]
