"""Bytes <-> messages. Every way a payload can be wrong ends in :class:`MessageRejected`."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from protocol.errors import MessageRejected, RejectReason, TopicError
from protocol.messages import SCHEMA_VERSION, DownlinkMessage, UplinkMessage
from protocol.topics import Direction, parse_topic

MAX_PAYLOAD_BYTES = 256 * 1024

_UPLINK: TypeAdapter[UplinkMessage] = TypeAdapter(UplinkMessage)
_DOWNLINK: TypeAdapter[DownlinkMessage] = TypeAdapter(DownlinkMessage)


def encode(message: BaseModel) -> bytes:
    """Serialise a message to its compact JSON payload."""
    return message.model_dump_json(exclude_none=True).encode()


def decode_uplink(topic: str, payload: bytes) -> UplinkMessage:
    """Decode a gateway -> server payload received on ``topic``."""
    message: UplinkMessage = _decode(topic, payload, Direction.UP, _UPLINK)
    return message


def decode_downlink(topic: str, payload: bytes) -> DownlinkMessage:
    """Decode a server -> gateway payload received on ``topic``."""
    message: DownlinkMessage = _decode(topic, payload, Direction.DOWN, _DOWNLINK)
    return message


def _decode(topic: str, payload: bytes, direction: Direction, adapter: TypeAdapter[Any]) -> Any:
    try:
        name = parse_topic(topic)
    except TopicError as err:
        raise MessageRejected(RejectReason.UNKNOWN_TOPIC, str(err)) from err
    if name.channel.direction is not direction:
        raise MessageRejected(RejectReason.UNKNOWN_TOPIC, f"{topic!r} is not a {direction} topic")
    raw = _json_object(payload)
    version = raw.get("v")
    # ``type`` check: in Python ``True == 1``, and a boolean is not a schema version.
    if type(version) is not int or version != SCHEMA_VERSION:
        raise MessageRejected(
            RejectReason.UNSUPPORTED_VERSION,
            f"schema version {version!r} is not supported (this receiver speaks {SCHEMA_VERSION})",
        )
    try:
        # Strict JSON validation: "0" is not a priority and 0.0 not a sequence number; a
        # sender that gets types wrong should hear so, not have them quietly coerced.
        message = adapter.validate_json(payload, strict=True)
    except ValidationError as err:
        raise MessageRejected(RejectReason.INVALID, _summarise(err)) from err
    if message.type != name.channel.value:
        raise MessageRejected(
            RejectReason.TOPIC_MISMATCH,
            f"a {message.type!r} message on the {name.channel.value!r} topic",
        )
    if message.gateway_id != name.gateway_id:
        raise MessageRejected(
            RejectReason.TOPIC_MISMATCH,
            f"gateway_id {message.gateway_id!r} published on {name.gateway_id!r}'s topic",
        )
    return message


def _json_object(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MessageRejected(
            RejectReason.TOO_LARGE, f"{len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}"
        )
    try:
        # Decode explicitly: json.loads(bytes) would also accept UTF-16 and UTF-32.
        raw = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise MessageRejected(RejectReason.NOT_JSON, f"not UTF-8 JSON: {err}") from err
    if not isinstance(raw, dict):
        raise MessageRejected(RejectReason.INVALID, f"a JSON {type(raw).__name__}, not an object")
    return raw


def _summarise(err: ValidationError, limit: int = 3) -> str:
    """First few validation errors as ``loc: msg`` lines, short enough for a log line."""
    parts = []
    for item in err.errors(include_url=False)[:limit]:
        loc = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{loc}: {item['msg']}")
    more = err.error_count() - limit
    if more > 0:
        parts.append(f"(+{more} more)")
    return "; ".join(parts)
