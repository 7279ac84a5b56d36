"""MQTT topic names of wire contract v1, as validated values.

Layout: ``eldercare/v1/<gateway_id>/<up|down>/<channel>``. One subtree per gateway lets the
broker's ACL give each gateway exactly its own topics (``pattern write eldercare/v1/%u/up/#``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from protocol.errors import TopicError

ROOT = "eldercare/v1"
GATEWAY_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_GATEWAY_ID = re.compile(GATEWAY_ID_PATTERN)


class Direction(StrEnum):
    UP = "up"  # gateway -> server
    DOWN = "down"  # server -> gateway


class Channel(StrEnum):
    ALARM = "alarm"
    EVENT = "event"
    TELEMETRY = "telemetry"
    TELEMETRY_BATCH = "telemetry_batch"  # many telemetry points in one message
    TELEMETRY_SERIES = "telemetry_series"  # many telemetry points as columns
    STATUS = "status"
    RECEIPT = "receipt"
    COMMAND = "command"
    CONFIG = "config"  # the home's configuration, retained
    SAMPLES = "samples"  # a cloud wearable's accelerometer, for the centre's fall detector

    @property
    def direction(self) -> Direction:
        down = (Channel.RECEIPT, Channel.COMMAND, Channel.CONFIG)
        return Direction.DOWN if self in down else Direction.UP


# Broker accounts that are not gateways. The ACL's ``%u`` patterns apply to every account, so a
# gateway named like one of them would share its topics; they can never be gateway ids.
RESERVED_NAMES = frozenset({"server", "zigbee2mqtt", "admin", "root", "responders"})


def validate_gateway_id(gateway_id: str) -> str:
    """Return ``gateway_id`` if it can name a topic level and a broker user, else raise."""
    if gateway_id in RESERVED_NAMES:
        raise TopicError(f"{gateway_id!r} is a reserved broker account, not a gateway id")
    # fullmatch: with match() the pattern's ``$`` also accepts a trailing newline ("gw-1\n").
    if not _GATEWAY_ID.fullmatch(gateway_id):
        raise TopicError(f"gateway id {gateway_id!r} does not match {GATEWAY_ID_PATTERN}")
    return gateway_id


@dataclass(frozen=True)
class TopicName:
    """One concrete topic: which gateway, which channel."""

    gateway_id: str
    channel: Channel

    def __post_init__(self) -> None:
        validate_gateway_id(self.gateway_id)

    def __str__(self) -> str:
        return f"{ROOT}/{self.gateway_id}/{self.channel.direction.value}/{self.channel.value}"


def parse_topic(topic: str) -> TopicName:
    """Parse a concrete topic; raise :class:`TopicError` for anything not of this contract."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != ROOT:
        raise TopicError(f"not a v1 topic: {topic!r}")
    _, _, gateway_id, direction, channel_name = parts
    try:
        channel = Channel(channel_name)
    except ValueError as err:
        raise TopicError(f"unknown channel {channel_name!r} in {topic!r}") from err
    if channel.direction.value != direction:
        raise TopicError(f"channel {channel_name!r} does not travel {direction!r}")
    return TopicName(gateway_id, channel)


@dataclass(frozen=True)
class GatewayTopics:
    """All topics of one gateway, for the gateway's own client."""

    gateway_id: str

    def __post_init__(self) -> None:
        validate_gateway_id(self.gateway_id)

    def of(self, channel: Channel) -> str:
        return str(TopicName(self.gateway_id, channel))

    @property
    def downlink_filter(self) -> str:
        return f"{ROOT}/{self.gateway_id}/down/#"


# What the server subscribes to; ``$share`` lets several server processes split the load.
SERVER_SHARE_GROUP = "servers"
UPLINK_FILTER = f"{ROOT}/+/up/#"
SHARED_UPLINK_FILTER = f"$share/{SERVER_SHARE_GROUP}/{UPLINK_FILTER}"
