"""Gateway settings, from the environment (prefix ``GATEWAY_``) or a ``.env`` file."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.errors import TopicError
from protocol.messages import DEVICE_ID_PATTERN
from protocol.mqtt import BrokerEndpoint
from protocol.topics import validate_gateway_id

_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)

Z2mKind = Literal[
    "sos_button",
    "fall_radar",
    "motion_sensor",
    "door_contact",
    "exit_door_contact",
    "bed_sensor",
    "seat_sensor",
    "smart_plug",
]


class GatewaySettings(BaseSettings):
    """One gateway = one home. Its broker username is its id (the broker ACL relies on it)."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    id: str
    home_id: str
    data_dir: Path = Path("var/gateway")
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_password: SecretStr
    # device id -> port: a stable path (/dev/serial/by-id/...) or a pyserial URL.
    serial_devices: dict[str, str] = Field(default_factory=dict)
    z2m_enabled: bool = False
    z2m_host: str = "127.0.0.1"
    z2m_port: int = Field(default=1883, ge=1, le=65535)
    z2m_username: str = ""
    z2m_password: SecretStr = SecretStr("")
    z2m_base_topic: str = "zigbee2mqtt"
    # Zigbee2MQTT friendly name -> device kind; the friendly name is the device id.
    z2m_devices: dict[str, Z2mKind] = Field(default_factory=dict)
    # Zigbee2MQTT friendly name -> room, for the home's sensors (shown with their alarms).
    z2m_rooms: dict[str, str] = Field(default_factory=dict)
    heartbeat_interval_s: int = Field(default=30, ge=1, le=86_400)
    # Expected heartbeat interval of each serial device; silent for two intervals = offline.
    # One-key call buttons are supervised at minute level: 150 s means offline within 5 min.
    serial_heartbeat_s: float = Field(default=150.0, ge=1, le=86_400)
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

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        try:
            return validate_gateway_id(value)
        except TopicError as err:
            raise ValueError(str(err)) from err

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as err:
                raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @field_validator("serial_devices", "z2m_devices")
    @classmethod
    def _valid_device_ids(cls, value: dict[str, str]) -> dict[str, str]:
        # Checked here, at start-up, rather than when the first alarm from the device fails
        # to validate: an id the wire contract refuses would make its every alarm unsendable.
        for device_id in value:
            if not _DEVICE_ID.fullmatch(device_id):
                raise ValueError(
                    f"device id {device_id!r} is not usable on the wire ({DEVICE_ID_PATTERN});"
                    " rename the device (for Zigbee2MQTT: its friendly name)"
                )
        return value

    @property
    def uplink(self) -> BrokerEndpoint:
        return BrokerEndpoint(
            self.mqtt_host, self.mqtt_port, self.id, self.mqtt_password.get_secret_value()
        )

    @property
    def zigbee2mqtt(self) -> BrokerEndpoint:
        return BrokerEndpoint(
            self.z2m_host,
            self.z2m_port,
            self.z2m_username or self.id,
            self.z2m_password.get_secret_value() or self.mqtt_password.get_secret_value(),
        )
