"""Errors raised when a message or topic does not follow wire contract v1."""

from enum import StrEnum


class RejectReason(StrEnum):
    """Why a payload was rejected; stable codes for dead-letter records and metrics."""

    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"
    UNSUPPORTED_VERSION = "unsupported_version"
    INVALID = "invalid"
    TOPIC_MISMATCH = "topic_mismatch"
    UNKNOWN_TOPIC = "unknown_topic"


class ProtocolError(Exception):
    """Base of every wire-contract error."""


class MessageRejected(ProtocolError):
    """A payload that is not a valid v1 message; never retryable, the same bytes fail again."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class TopicError(ProtocolError):
    """A topic outside the ``eldercare/v1/<gateway>/<up|down>/<channel>`` tree."""
