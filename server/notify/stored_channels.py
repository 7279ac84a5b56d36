"""The channels admins configured (SQL), as the notifier's ``ChannelDirectory``.

The notifier asks for every responder call, so the table is read whole into a cache, not once
per notification. Whether the cache is still current is a one-row read of the channels'
version number (``notification_channels_version``, moved in the same transaction as any
channel change), made at most once every ``check_s``: another server process's change is in
force here on the first call after that, and the table is read again only when the number
moved. A change made by this process is in force at once (``invalidate``).

When the store cannot answer, the last channels read stay in use (a responder is still called
on the channels known a moment ago) and the next attempt waits, doubling from ``check_s`` up
to ``BACKOFF_CAP_S``: a database that is down is not asked again on every notification. So
too when a secret does not open with this process's key (sealed by a process with another
key since this one started; at start ``check_secret_key`` refuses such a key outright). One
WARNING when such an episode begins and one INFO line when it ends, not one per call.

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

from server.crud.notify import channels_version, every_channel
from server.db.notify_models import NotificationChannel
from server.notify.channels import (
    Adapter,
    Channel,
    MqttChannel,
    WebhookChannel,
    responder_account,
)
from server.notify.secret_box import SecretBox, SecretKeyMismatch

log = logging.getLogger(__name__)
CHECK_S = 1.0  # the version is read at most this often
BACKOFF_CAP_S = 60.0  # the longest wait between attempts while the store cannot answer


class StoredDirectory:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        secrets: SecretBox,
        *,
        mqtt_for_all: bool,
        check_s: float = CHECK_S,
        backoff_cap_s: float = BACKOFF_CAP_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._secrets = secrets
        self._mqtt_for_all = mqtt_for_all
        self._check_s = check_s
        self._backoff_cap_s = backoff_cap_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._channels: dict[int, list[Channel]] = {}
        self._mqtt_configured: set[int] = set()  # responders with a stored MQTT row
        self._version: int | None = None  # None: the table must be read whatever the number
        self._next_check = 0.0  # monotonic time of the next version read
        self._failures = 0  # consecutive failed reads: the backoff's exponent

    def invalidate(self) -> None:
        """A channel changed: the next notification reads the table again."""
        with self._lock:
            self._version = None
            self._next_check = 0.0  # the store has just taken the change: no backoff

    def channels_for(self, responder_id: int) -> Sequence[Channel]:
        with self._lock:
            now = self._monotonic()
            if now >= self._next_check:
                self._refresh(now)
            found = list(self._channels.get(responder_id, ()))
            if self._mqtt_for_all and responder_id not in self._mqtt_configured:
                found.insert(0, MqttChannel(responder_account(responder_id)))
            return found

    def _refresh(self, now: float) -> None:
        try:
            self._read_if_changed()
        except (SQLAlchemyError, SecretKeyMismatch) as err:
            self._failures += 1
            wait = min(self._backoff_cap_s, self._check_s * 2 ** (self._failures - 1))
            self._next_check = now + wait
            if self._failures == 1:
                log.warning(
                    "notification channels not re-read (%s); using the last ones, retrying"
                    " with backoff up to %.0f s",
                    err if isinstance(err, SecretKeyMismatch) else type(err).__name__,
                    self._backoff_cap_s,
                )
            return
        if self._failures:
            log.info("notification channels read again after %d failed tries", self._failures)
            self._failures = 0
        self._next_check = now + self._check_s

    def _read_if_changed(self) -> None:
        """The version first, then the rows: a change committed between the two reads is
        then at worst read twice, never missed."""
        with self._sessions() as session:
            version = channels_version(session)
            if version == self._version:
                return
            rows = every_channel(session)
            self._load(rows)
        self._version = version

    def _load(self, rows: Sequence[NotificationChannel]) -> None:
        channels: defaultdict[int, list[Channel]] = defaultdict(list)
        mqtt_configured: set[int] = set()
        for row in rows:
            if row.kind == "mqtt":
                mqtt_configured.add(row.responder_id)
            if row.enabled:
                channels[row.responder_id].append(self._channel(row))
        self._channels, self._mqtt_configured = dict(channels), mqtt_configured

    def _channel(self, row: NotificationChannel) -> Channel:
        if row.kind == "mqtt":
            return MqttChannel(responder_account(row.responder_id), row.id)
        adapter = cast(Adapter, row.adapter)
        secret = self._secrets.open(row.secret) if row.secret is not None else ""
        return WebhookChannel(row.url or "", secret, adapter, row.id)
