"""The channels admins configured (SQL), as the notifier's ``ChannelDirectory``.

The notifier asks for every responder call, so the table is read whole into a cache, not once
per notification: refreshed when this process changes a channel (``invalidate``) and at the
latest ``refresh_s`` after the last read, which is how another server process on the same
database sees a change.

Every responder has their own MQTT topic by default (when the centre has a broker link);
a stored MQTT channel for the responder takes its place, so an admin switches a responder's
MQTT off by disabling theirs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import cast

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from server.crud.notify import every_channel
from server.db.notify_models import NotificationChannel
from server.notify.channels import (
    Adapter,
    Channel,
    MqttChannel,
    WebhookChannel,
    responder_account,
)

log = logging.getLogger(__name__)
REFRESH_S = 30.0


class StoredDirectory:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        mqtt_for_all: bool,
        refresh_s: float = REFRESH_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._mqtt_for_all = mqtt_for_all
        self._refresh_s = refresh_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._channels: dict[int, list[Channel]] = {}
        self._mqtt_configured: set[int] = set()  # responders with a stored MQTT row
        self._read_at: float | None = None

    def invalidate(self) -> None:
        """A channel changed: the next notification reads the table again."""
        with self._lock:
            self._read_at = None

    def channels_for(self, responder_id: int) -> Sequence[Channel]:
        with self._lock:
            now = self._monotonic()
            if self._read_at is None or now - self._read_at >= self._refresh_s:
                self._refresh(now)
            found = list(self._channels.get(responder_id, ()))
            if self._mqtt_for_all and responder_id not in self._mqtt_configured:
                found.insert(0, MqttChannel(responder_account(responder_id)))
            return found

    def _refresh(self, now: float) -> None:
        """Read the table; if the store cannot answer, keep what was read last (a responder
        is still called on the channels known a moment ago) and try again next call."""
        try:
            self._load()
        except SQLAlchemyError as err:
            log.warning(
                "notification channels not re-read (%s); using the last ones", type(err).__name__
            )
            return
        self._read_at = now

    def _load(self) -> None:
        channels: defaultdict[int, list[Channel]] = defaultdict(list)
        mqtt_configured: set[int] = set()
        with self._sessions() as session:
            rows = every_channel(session)
        for row in rows:
            if row.kind == "mqtt":
                mqtt_configured.add(row.responder_id)
            if row.enabled:
                channels[row.responder_id].append(_channel(row))
        self._channels, self._mqtt_configured = dict(channels), mqtt_configured


def _channel(row: NotificationChannel) -> Channel:
    if row.kind == "mqtt":
        return MqttChannel(responder_account(row.responder_id), row.id)
    adapter = cast(Adapter, row.adapter)
    return WebhookChannel(row.url or "", row.secret or "", adapter, row.id)
