"""The home's configuration, pushed by the centre to its gateway (channel ``config``).

One message carries the whole configuration, never a patch: the broker keeps it retained on
``eldercare/v1/<gateway>/down/config``, so a gateway that was away, or starts afresh, gets the
latest whole state on subscribing. ``revision`` grows with every change at the centre; a
gateway applies only a revision newer than the one it runs, so a redelivered retained message
or an old one overtaken in flight changes nothing.

Device kinds are checked loosely here (a name's shape): the kinds live in the gateway's device
registry (``python -m edge.devices``), which the wire contract does not share. A gateway that
does not know a kind refuses the whole configuration and says why in a ``config_rejected``
event.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from protocol.fields import DeviceId, ShortText, StrictModel

DEVICE_KIND_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
MAX_DEVICES = 256
MAX_ROOMS = 64
MAX_AWAY_PERIODS = 32
MAX_AWAY = timedelta(days=92)  # a season abroad; anything longer is a move, not a holiday
MAX_REVISION = 2**53  # still exact in every JSON reader's numbers
DeviceKindName = Annotated[str, StringConstraints(pattern=DEVICE_KIND_PATTERN)]
RoomName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def known_zone(value: str | None) -> str | None:
    """``value`` if it names an IANA time zone this host knows (or is None); else ValueError."""
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
    return value


class ConfiguredDevice(StrictModel):
    """One device of the home, by the id it has on the wire (a serial device's chosen id, a
    Zigbee2MQTT friendly name)."""

    kind: DeviceKindName
    transport: Literal["serial", "zigbee2mqtt"]
    # Serial only: a stable path (/dev/serial/by-id/...) or a pyserial URL (socket://...).
    port: ShortText | None = None
    room: ShortText = ""
    # The longest the device may stay quiet; None: its kind's interval on this transport.
    heartbeat_s: float | None = Field(default=None, ge=1, le=86_400)

    @model_validator(mode="after")
    def _port_for_serial_only(self) -> ConfiguredDevice:
        if self.transport == "serial" and not self.port:
            raise ValueError("a serial device needs its port")
        if self.transport != "serial" and self.port is not None:
            raise ValueError("only a serial device has a port")
        return self


class ResidentProfile(StrictModel):
    """What of the resident's record the home's detectors use, and nothing more: the record
    itself stays at the centre."""

    dementia: bool = False  # shorter night limits: out of bed 20 min (else 45), return 10 (15)
    checkin_due: Annotated[str, StringConstraints(pattern=CLOCK_TIME_PATTERN)] | None = None
    timezone: ShortText | None = None  # IANA name; None: the gateway host's zone

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_zone(value)


class DetectorSettings(StrictModel):
    fall_cancel_window_s: float = Field(default=30.0, ge=0, le=300)
    night_start_h: float = Field(default=22.0, ge=0, lt=24)
    night_end_h: float = Field(default=6.0, ge=0, lt=24)
    # None: the resident profile's limits (see ResidentProfile.dementia).
    night_bed_exit_s: float | None = Field(default=None, ge=60, le=12 * 3600)
    night_return_s: float | None = Field(default=None, ge=60, le=12 * 3600)


class AwayPeriod(StrictModel):
    """The home is empty from ``start`` until ``end`` (a holiday, a stay with family, a
    hospital stay): the gateway raises no inactivity, night or check-in alarm then. Instants,
    not local times: the centre and the gateway may live in different zones."""

    start: AwareDatetime
    end: AwareDatetime
    note: ShortText = ""

    @model_validator(mode="after")
    def _bounded(self) -> AwayPeriod:
        if self.end <= self.start:
            raise ValueError("an away period ends after it starts")
        if self.end - self.start > MAX_AWAY:
            raise ValueError(f"an away period lasts at most {MAX_AWAY.days} days")
        return self


def check_away(periods: list[AwayPeriod]) -> None:
    """Away periods in time order, none overlapping another; else ValueError. One order
    keeps the gateway's schedule simple and tells a family member who doubled a booking."""
    for before, after in pairwise(periods):
        if after.start < before.end:
            raise ValueError(
                f"away periods overlap or are out of order: {before.start:%Y-%m-%d %H:%M} "
                f"and {after.start:%Y-%m-%d %H:%M}"
            )


AwayPeriods = Annotated[list[AwayPeriod], Field(max_length=MAX_AWAY_PERIODS)]


class HomeConfigBody(StrictModel):
    """The whole configuration of one home. Revision 0 is never sent: it is what a gateway
    builds from its own environment before the centre has configured it."""

    revision: int = Field(ge=0, le=MAX_REVISION)
    home_id: ShortText
    devices: dict[DeviceId, ConfiguredDevice] = Field(default_factory=dict, max_length=MAX_DEVICES)
    rooms: list[RoomName] = Field(default_factory=list, max_length=MAX_ROOMS)
    resident: ResidentProfile = ResidentProfile()
    detectors: DetectorSettings = DetectorSettings()
    heartbeat_interval_s: int = Field(default=30, ge=1, le=86_400)  # the gateway's status
    # Set through the centre's away API (not by the installer); past periods are pruned there.
    away: AwayPeriods = Field(default_factory=list)

    @model_validator(mode="after")
    def _rooms_declared(self) -> HomeConfigBody:
        check_rooms(self.devices, self.rooms)
        check_away(self.away)
        return self


def check_rooms(devices: dict[str, ConfiguredDevice], rooms: list[str]) -> None:
    """Each room named once, and every device's room among them; else ValueError."""
    if len(set(rooms)) != len(rooms):
        raise ValueError("rooms are named once each")
    unknown = sorted({d.room for d in devices.values() if d.room} - set(rooms))
    if unknown:
        raise ValueError(f"devices in rooms not listed in rooms: {unknown}")
