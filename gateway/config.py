"""Gateway settings, from the environment (prefix ``GATEWAY_``) or a ``.env`` file."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from edge.devices import REGISTRY
from edge.events import DeviceRef, Transport
from gateway.ha_entities import validate_prefix
from protocol.errors import TopicError
from protocol.fields import ShortText
from protocol.home_config import known_zone
from protocol.messages import DEVICE_ID_PATTERN
from protocol.mqtt import BrokerEndpoint, BrokerTls
from protocol.topics import validate_gateway_id

_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)
_D = TypeVar("_D")
MIN_UNDELIVERED_AFTER_S = 60.0  # the floor outside tests (practice says at least 3 minutes)


class SerialDevice(BaseModel):
    """A device on a serial port: a stable path (/dev/serial/by-id/...) or a pyserial URL,
    and its kind from the device registry (``python -m edge.devices``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    port: str = Field(min_length=1)
    kind: str = "call_button"

    @field_validator("kind")
    @classmethod
    def _serial_kind(cls, value: str) -> str:
        return _registered(value, "serial")


def _registered(kind: str, transport: Transport) -> str:
    if kind not in REGISTRY:
        known = ", ".join(k.name for k in REGISTRY.on(transport))
        raise ValueError(f"unknown device kind {kind!r}; {transport} kinds: {known}")
    if transport not in REGISTRY.get(kind).heartbeat_s:
        known = ", ".join(k.name for k in REGISTRY.on(transport))
        raise ValueError(f"{kind} has no {transport} form; {transport} kinds: {known}")
    return kind


class GatewaySettings(BaseSettings):
    """One gateway = one home. Its broker username is its id (the broker ACL relies on it)."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    id: str
    home_id: ShortText  # the wire contract's limit: checked here, not by a traceback at start
    data_dir: Path = Path("var/gateway")
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_password: SecretStr
    # TLS to the centre's broker: the CA that signed its certificate (unset: the system's CAs)
    # and an optional client certificate; the hostname is always checked.
    mqtt_tls: bool = False
    mqtt_ca_file: Path | None = None
    mqtt_certfile: Path | None = None
    mqtt_keyfile: Path | None = None
    # A backup receiving centre: its own broker and account (the username defaults to the
    # gateway id, which its ACL is keyed on). Unset host: no backup. Used while the centre has
    # not confirmed an alarm for undelivered_after_s (gateway/backup.py).
    backup_mqtt_host: str | None = None
    backup_mqtt_port: int = Field(default=1883, ge=1, le=65535)
    backup_mqtt_username: str = ""
    backup_mqtt_password: SecretStr = SecretStr("")
    backup_mqtt_tls: bool = False
    backup_mqtt_ca_file: Path | None = None
    backup_mqtt_certfile: Path | None = None
    backup_mqtt_keyfile: Path | None = None
    # device id -> port (a call button), or -> {"port": ..., "kind": ...}.
    serial_devices: dict[str, SerialDevice] = Field(default_factory=dict)
    z2m_enabled: bool = False
    z2m_host: str = "127.0.0.1"
    z2m_port: int = Field(default=1883, ge=1, le=65535)
    z2m_username: str = ""
    z2m_password: SecretStr = SecretStr("")
    z2m_base_topic: str = "zigbee2mqtt"
    # Zigbee2MQTT friendly name -> device kind; the friendly name is the device id.
    z2m_devices: dict[str, str] = Field(default_factory=dict)
    # Zigbee2MQTT friendly name -> room, for the home's sensors (shown with their alarms).
    z2m_rooms: dict[str, str] = Field(default_factory=dict)
    # Home Assistant MQTT discovery on the home's broker (the z2m_* connection above):
    # gateway/homeassistant.py. The prefix is Home Assistant's discovery prefix.
    # Prometheus metrics (gateway/metrics.py) on this local port; off when unset. No login,
    # so keep the host on loopback unless a firewall stands in front.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    ha_discovery: bool = False
    ha_prefix: str = "homeassistant"
    heartbeat_interval_s: int = Field(default=30, ge=1, le=86_400)
    # Expected heartbeat interval of every serial device, overriding its kind's (a call
    # button's is 150 s: offline within 5 min); silent for two intervals = offline.
    serial_heartbeat_s: float | None = Field(default=None, ge=1, le=86_400)
    # Daily check-in: the resident presses a key by this local time (HH:MM) each day; off if
    # unset. A reminder buzzes 30 min before; 15 min after, a missed check-in is an alarm.
    checkin_due: time | None = None
    # The home's time zone (IANA name, e.g. Asia/Shanghai) for night windows, check-in and
    # routines; default: the host's.
    tz: str | None = None
    # A detected fall is held this long so the resident can cancel it with a key press.
    fall_cancel_window_s: float = Field(default=30.0, ge=0, le=300)
    # Social-alarm practice: resend an unanswered alarm after 5-20 s.
    resend_interval_s: float = Field(default=10.0, ge=0.5, le=60)
    # Keep trying for at least 3 and at most 30 minutes, then act locally: an alarm the centre
    # has not confirmed for this long makes every serial device show "alarm not delivered".
    # Below 60 s only with test_short_timers (system tests cannot wait 3 minutes per case).
    undelivered_after_s: float = Field(default=180.0, ge=1, le=1800)
    test_short_timers: bool = False
    # Telemetry and device events kept on disk while the centre cannot be reached
    # (gateway/backlog.py); beyond this the oldest are dropped. Alarms never count here.
    # 0: none kept, dropped while disconnected.
    telemetry_quota_bytes: int = Field(default=8 * 1024 * 1024, ge=0)
    # Live telemetry readings are held this long (seconds) and sent together as one
    # telemetry_batch message: each message costs the centre's broker and server far more
    # than a reading. Alarms never wait; device events neither. 0: each reading at once.
    telemetry_gather_s: float = Field(default=5.0, ge=0, le=60)
    # Gathered and backlogged telemetry as telemetry_series messages (columns: a third of the
    # bytes, less than half of the centre's work per reading). False: as telemetry_batch
    # reading objects, for a centre older than telemetry_series (it would not subscribe).
    telemetry_series: bool = True

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        try:
            return validate_gateway_id(value)
        except TopicError as err:
            raise ValueError(str(err)) from err

    @field_validator("ha_prefix")
    @classmethod
    def _valid_ha_prefix(cls, value: str) -> str:
        return validate_prefix(value)  # a ValueError: reported as a configuration error

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_zone(value)

    @field_validator("serial_devices", mode="before")
    @classmethod
    def _port_alone_is_a_call_button(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {"port": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("z2m_devices")
    @classmethod
    def _z2m_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        for kind in value.values():
            _registered(kind, "zigbee2mqtt")
        return value

    @field_validator("serial_devices", "z2m_devices")
    @classmethod
    def _valid_device_ids(cls, value: dict[str, _D]) -> dict[str, _D]:
        # Checked here, at start-up, rather than when the first alarm from the device fails
        # to validate: an id the wire contract refuses would make its every alarm unsendable.
        for device_id in value:
            if not _DEVICE_ID.fullmatch(device_id):
                raise ValueError(
                    f"device id {device_id!r} is not usable on the wire ({DEVICE_ID_PATTERN});"
                    " rename the device (for Zigbee2MQTT: its friendly name)"
                )
        return value

    @model_validator(mode="after")
    def _one_id_one_device(self) -> GatewaySettings:
        both = self.serial_devices.keys() & self.z2m_devices.keys()
        if both:
            raise ValueError(f"device ids used on serial and on Zigbee2MQTT: {sorted(both)}")
        return self

    @model_validator(mode="after")
    def _social_alarm_practice(self) -> GatewaySettings:
        if self.undelivered_after_s < MIN_UNDELIVERED_AFTER_S and not self.test_short_timers:
            raise ValueError(
                "undelivered_after_s must be 60-1800 s (social-alarm practice: keep trying for"
                " 3 to 30 minutes); shorter only with GATEWAY_TEST_SHORT_TIMERS for tests"
            )
        return self

    @model_validator(mode="after")
    def _client_certificate_pairs(self) -> GatewaySettings:
        for prefix in ("mqtt", "backup_mqtt"):
            cert, key = getattr(self, f"{prefix}_certfile"), getattr(self, f"{prefix}_keyfile")
            if (cert is None) != (key is None):
                raise ValueError(f"{prefix}_certfile and {prefix}_keyfile go together")
        return self

    def devices(self) -> dict[str, DeviceRef]:
        """Every configured device, by id."""
        refs = {d: DeviceRef(d, c.kind, "serial") for d, c in self.serial_devices.items()}
        refs |= {n: DeviceRef(n, k, "zigbee2mqtt") for n, k in self.z2m_devices.items()}
        return refs

    def heartbeat_intervals(self) -> dict[str, float]:
        """Each device's expected heartbeat: its kind's, or the serial override."""
        intervals = {}
        for device_id, ref in self.devices().items():
            interval = REGISTRY.get(ref.device_kind).heartbeat_s[ref.transport]
            if ref.transport == "serial" and self.serial_heartbeat_s is not None:
                interval = self.serial_heartbeat_s
            intervals[device_id] = interval
        return intervals

    @property
    def uplink(self) -> BrokerEndpoint:
        return BrokerEndpoint(
            self.mqtt_host,
            self.mqtt_port,
            self.id,
            self.mqtt_password.get_secret_value(),
            tls=_tls(self.mqtt_tls, self.mqtt_ca_file, self.mqtt_certfile, self.mqtt_keyfile),
        )

    @property
    def backup(self) -> BrokerEndpoint | None:
        """The backup centre's broker, if one is configured."""
        if self.backup_mqtt_host is None:
            return None
        return BrokerEndpoint(
            self.backup_mqtt_host,
            self.backup_mqtt_port,
            self.backup_mqtt_username or self.id,
            self.backup_mqtt_password.get_secret_value(),
            tls=_tls(
                self.backup_mqtt_tls,
                self.backup_mqtt_ca_file,
                self.backup_mqtt_certfile,
                self.backup_mqtt_keyfile,
            ),
        )

    @property
    def zigbee2mqtt(self) -> BrokerEndpoint:
        return BrokerEndpoint(
            self.z2m_host,
            self.z2m_port,
            self.z2m_username or self.id,
            self.z2m_password.get_secret_value() or self.mqtt_password.get_secret_value(),
        )


def _tls(
    enabled: bool, ca_file: Path | None, certfile: Path | None, keyfile: Path | None
) -> BrokerTls | None:
    return BrokerTls(ca_file, certfile, keyfile) if enabled else None
