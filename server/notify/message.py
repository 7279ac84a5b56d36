"""What a responder is told: the wire payload of a notification, the same on every channel.

Channels add nothing of their own to it, so a responder's app, an SMS gateway adapter and the
responder page all read one schema (documented in README.md, "Notifications").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from server.dispatch.notifier import ResponderCall

SCHEMA = "eldercare.notification/v1"


@dataclass(frozen=True)
class Notification:
    """A responder call with what a person needs to decide and go."""

    call: ResponderCall
    accept_url: str

    @property
    def id(self) -> str:
        """Unique per alarm, responder and attempt: receivers drop repeats they already have."""
        return f"{self.call.alarm_id}/{self.call.responder_id}/{self.call.attempt}"

    def to_json(self) -> dict[str, Any]:
        call = self.call
        return {
            "schema": SCHEMA,
            "notification_id": self.id,
            "alarm_id": call.alarm_id,
            "responder_id": call.responder_id,
            "kind": call.alarm_kind,
            "priority": call.priority,
            "attempt": call.attempt,
            "level": call.level,
            "home_id": call.home_id,
            "address": call.address,
            "eta_s": call.eta_s,
            "accept_url": self.accept_url,
            "at": call.at.isoformat(),
        }


def accept_link(public_url: str, alarm_id: str) -> str:
    """The responder page opened at this alarm (the page asks for a login first)."""
    return f"{public_url.rstrip('/')}/responder/#alarm={quote(alarm_id, safe='')}"
