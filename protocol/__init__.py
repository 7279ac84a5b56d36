"""Wire contract v1 between gateway and server, shared by edge, gateway and server.

Nothing else is shared between those packages. Documented for people in ``docs/protocol.md``.

Exception tree::

    ProtocolError
     ├── MessageRejected   a payload that is not a valid v1 message (carries a reason code)
     └── TopicError        a topic that is not one of ours
"""

from protocol.codec import decode_downlink, decode_uplink, encode
from protocol.errors import MessageRejected, ProtocolError, RejectReason, TopicError
from protocol.home_config import HomeConfigBody
from protocol.messages import (
    SCHEMA_VERSION,
    AlarmBody,
    AlarmKind,
    AlarmMessage,
    CommandBody,
    CommandKind,
    CommandMessage,
    DownlinkMessage,
    EventBody,
    EventMessage,
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
    UplinkMessage,
    new_message_id,
)
from protocol.topics import Channel, Direction, GatewayTopics, TopicName, parse_topic

__all__ = [
    "SCHEMA_VERSION",
    "AlarmBody",
    "AlarmKind",
    "AlarmMessage",
    "Channel",
    "CommandBody",
    "CommandKind",
    "CommandMessage",
    "Direction",
    "DownlinkMessage",
    "EventBody",
    "EventMessage",
    "GatewayTopics",
    "HomeConfigBody",
    "HomeConfigMessage",
    "MessageRejected",
    "Origin",
    "ProtocolError",
    "ReceiptBody",
    "ReceiptMessage",
    "RejectReason",
    "SamplesBody",
    "SamplesMessage",
    "StatusBody",
    "StatusMessage",
    "TelemetryBatchBody",
    "TelemetryBatchMessage",
    "TelemetryBody",
    "TelemetryMessage",
    "TelemetryReading",
    "TelemetrySeries",
    "TelemetrySeriesBody",
    "TelemetrySeriesMessage",
    "TopicError",
    "TopicName",
    "UplinkMessage",
    "decode_downlink",
    "decode_uplink",
    "encode",
    "new_message_id",
    "parse_topic",
]
