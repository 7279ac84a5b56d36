"""Messages for tests that need "an alarm" without caring about its details."""

from __future__ import annotations

from datetime import UTC, datetime

from protocol import AlarmBody, AlarmKind, AlarmMessage, Origin


def alarm_message(
    gateway_id: str = "gw-1",
    *,
    device_id: str = "call-button-1",
    home_id: str = "home-1",
    frame_seq: int = 1,
    gateway_time: datetime | None = None,
) -> AlarmMessage:
    """A valid emergency call from a serial call button, with a fresh message id."""
    return AlarmMessage(
        gateway_id=gateway_id,
        device_id=device_id,
        gateway_time=gateway_time or datetime.now(UTC),
        body=AlarmBody(
            kind=AlarmKind.EMERGENCY_CALL,
            priority=0,
            home_id=home_id,
            origin=Origin(transport="serial", device_kind="call_button", frame_seq=frame_seq),
        ),
    )
