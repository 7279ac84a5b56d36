"""Bytes <-> messages. Every way a payload can be wrong ends in :class:`MessageRejected`."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from protocol.errors import MessageRejected, RejectReason, TopicError
from protocol.messages import SCHEMA_VERSION, DownlinkMessage, UplinkMessage
from protocol.topics import Direction, TopicName, parse_topic

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
        name = _topic(topic)
    except TopicError as err:
        raise MessageRejected(RejectReason.UNKNOWN_TOPIC, str(err)) from err
    if name.channel.direction is not direction:
        raise MessageRejected(RejectReason.UNKNOWN_TOPIC, f"{topic!r} is not a {direction} topic")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MessageRejected(
            RejectReason.TOO_LARGE, f"{len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}"
        )
    # One parse of the whole payload when it is good (ingest's hot path: telemetry above all).
    # Only a refused payload is parsed again, to name the first rule it breaks (§11), the
    # version first as the contract wants (§12).
    try:
        # Strict JSON validation: "0" is not a priority and 0.0 not a sequence number; a
        # sender that gets types wrong should hear so, not have them quietly coerced.
        message = adapter.validate_json(payload, strict=True)
    except ValidationError as err:
        raise _why_refused(payload, adapter) from err
    if "v" not in message.model_fields_set:  # the model's default filled it in
        raise _unsupported(None)
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


@lru_cache(maxsize=65_536)
def _topic(topic: str) -> TopicName:
    """`parse_topic`, remembered: a centre hears the same few topics per gateway all day.
    Only parsed names are kept (a refused topic raises, and lru_cache keeps no exceptions)."""
    return parse_topic(topic)


def _why_refused(payload: bytes, adapter: TypeAdapter[Any]) -> MessageRejected:
    """The first rule a refused payload breaks: UTF-8 JSON, an object, the version, the schema."""
    raw = _json_object(payload)
    version = raw.get("v")
    # ``type`` check: in Python ``True == 1``, and a boolean is not a schema version.
    if type(version) is not int or version != SCHEMA_VERSION:
        return _unsupported(version)
    try:
        adapter.validate_json(payload, strict=True)
    except ValidationError as err:
        return MessageRejected(RejectReason.INVALID, _summarise(err))
    # Python's JSON reader took what pydantic's did not (a lone surrogate escape, say).
    return MessageRejected(RejectReason.INVALID, "JSON this receiver cannot read")


def _unsupported(version: object) -> MessageRejected:
    return MessageRejected(
        RejectReason.UNSUPPORTED_VERSION,
        f"schema version {version!r} is not supported (this receiver speaks {SCHEMA_VERSION})",
    )


def _json_object(payload: bytes) -> dict[str, Any]:
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
