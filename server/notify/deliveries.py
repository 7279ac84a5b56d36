"""The record of each notification sent on a channel: attempts, last status, outcome.

Supervisors look here to see that a responder was not reached (a webhook kept failing, a
provider refused the request). Records hold where a notification went with the query string
and any user:password cut off (``redact``), never a secret or a header. A ``Delivery`` is the
state of one delivery after its latest attempt; the centre keeps every attempt in SQL
(stored_deliveries.py).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, Protocol
from urllib.parse import urlsplit

from server.notify.message import Notification

DeliveryState = Literal["pending", "retrying", "delivered", "failed"]


@dataclass(frozen=True)
class Delivery:
    id: str  # notification id and channel: unique per attempt of the ladder
    alarm_id: str
    responder_id: int
    channel: str  # "mqtt", "webhook", "webhook:sms" ...
    target: str  # topic or redacted URL
    state: DeliveryState
    attempts: int
    last_status: int | None  # HTTP status of the last answer, None if none came
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    notification_id: str
    ladder_attempt: int  # the escalation ladder's repeat this notification belongs to
    channel_id: int | None  # the configured channel; None for the default MQTT topic

    @classmethod
    def pending(
        cls,
        notification: Notification,
        channel: str,
        target: str,
        channel_id: int | None,
        at: datetime,
    ) -> Delivery:
        """A delivery about to be attempted for the first time."""
        call = notification.call
        return cls(
            id=f"{notification.id}/{channel}:{target}",
            alarm_id=call.alarm_id,
            responder_id=call.responder_id,
            channel=channel,
            target=target,
            state="pending",
            attempts=0,
            last_status=None,
            last_error=None,
            created_at=at,
            updated_at=at,
            notification_id=notification.id,
            ladder_attempt=call.attempt,
            channel_id=channel_id,
        )

    def attempted(
        self, state: DeliveryState, status: int | None, error: str | None, at: datetime
    ) -> Delivery:
        return replace(
            self,
            state=state,
            attempts=self.attempts + 1,
            last_status=status,
            last_error=error,
            updated_at=at,
        )


class DeliveryLog(Protocol):
    def save(self, delivery: Delivery) -> None: ...

    def recent(self, alarm_id: str | None = None) -> list[Delivery]: ...


class MemoryDeliveryLog:
    """The last ``keep`` deliveries of this process, newest last."""

    def __init__(self, keep: int = 5000) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._items: OrderedDict[str, Delivery] = OrderedDict()

    def save(self, delivery: Delivery) -> None:
        with self._lock:
            self._items[delivery.id] = delivery
            self._items.move_to_end(delivery.id)
            while len(self._items) > self._keep:
                self._items.popitem(last=False)

    def recent(self, alarm_id: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self._items.values() if alarm_id in (None, d.alarm_id)]

    def get(self, delivery_id: str) -> Delivery | None:
        with self._lock:
            return self._items.get(delivery_id)


def redact(url: str) -> str:
    """``scheme://host[:port]/…``: enough to tell which provider and which receiver, nothing
    that lets anyone post to it. Providers put keys in query strings and userinfo, and many
    in the path itself (Slack, Teams, Discord, Telegram webhooks), so the path is left out."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    path = "/…" if parts.path not in ("", "/") else parts.path
    return f"{parts.scheme}://{host}{port}{path}"
