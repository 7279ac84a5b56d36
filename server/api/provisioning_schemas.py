"""Request and response bodies of gateway provisioning (``server/api/routes/gateway_setup.py``).

The configuration an installer sends is the wire body (``protocol.home_config``) without the
two fields the centre owns: the revision and the home.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from protocol import HomeConfigBody
from protocol.errors import TopicError
from protocol.fields import DeviceId, ShortText
from protocol.home_config import (
    MAX_DEVICES,
    MAX_ROOMS,
    ConfiguredDevice,
    DetectorSettings,
    ResidentProfile,
    RoomName,
    check_rooms,
)
from protocol.topics import validate_gateway_id


class GatewayRegister(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gateway_id: str = Field(max_length=63)
    home_id: ShortText

    @field_validator("gateway_id")
    @classmethod
    def _usable_id(cls, value: str) -> str:
        try:
            return validate_gateway_id(value)
        except TopicError as err:
            raise ValueError(str(err)) from err


class GatewayCredentials(BaseModel):
    """Shown once: the centre keeps no copy of the password."""

    gateway_id: str
    home_id: str
    username: str  # the broker username is the gateway id (the ACL's %u)
    password: str
    issued_at: datetime


class HomeConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: dict[DeviceId, ConfiguredDevice] = Field(default_factory=dict, max_length=MAX_DEVICES)
    rooms: list[RoomName] = Field(default_factory=list, max_length=MAX_ROOMS)
    resident: ResidentProfile = ResidentProfile()
    detectors: DetectorSettings = DetectorSettings()
    heartbeat_interval_s: int = Field(default=30, ge=1, le=86_400)

    @model_validator(mode="after")
    def _rooms_declared(self) -> HomeConfigUpdate:
        check_rooms(self.devices, self.rooms)
        return self

    def for_home(self, home_id: str) -> HomeConfigBody:
        """As a wire body; the store sets the real revision."""
        return HomeConfigBody(revision=0, home_id=home_id, **dict(self))


class ConfigReport(BaseModel):
    """The gateway's latest answer to a configuration."""

    kind: str  # config_applied / config_rejected
    at: datetime
    detail: dict[str, Any]


class GatewaySetup(BaseModel):
    gateway_id: str
    home_id: str
    registered_at: datetime
    credentials_issued_at: datetime
    revoked_at: datetime | None
    revision: int  # the newest configuration at the centre (0: none yet)
    published_revision: int  # the newest the broker holds, retained, for the gateway
    config: HomeConfigBody | None
    last_report: ConfigReport | None
