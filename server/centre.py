"""The running centre: store, telemetry, live hub and broker link, started and stopped together."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from server.core.config import ServerSettings
from server.core.secret_key import secret_key
from server.core.security import new_password
from server.crud.users import count_users, create_user
from server.db.engine import make_engine, migrate, serialise_bootstrap, session_factory
from server.db.models import Alarm
from server.dispatch.desk import DispatchDesk
from server.dispatch.engine import DispatchEngine
from server.dispatch.notifier import Notifier
from server.ingest.broker import BrokerLink
from server.ingest.cloud_falls import CloudFalls
from server.ingest.fall_leader import FallLeadership
from server.ingest.handler import UplinkHandler
from server.live import LiveHub
from server.live_relay import PostgresLiveRelay, announce_change
from server.metrics import CentreMetrics
from server.notify.retention import PRUNE_INTERVAL_S, DeliveryRetention
from server.notify.secret_box import SecretBox, check_secret_key
from server.notify.setup import NotifyChannels
from server.periodic import PeriodicJob
from server.provisioning.accounts import BrokerAccounts, accounts_from_settings
from server.provisioning.publisher import ConfigPublisher
from server.store_health import StoreHealth
from server.supervision import GatewayWatch
from server.telemetry import TelemetryStore
from server.telemetry.batching import BatchingWriter
from server.telemetry.from_settings import open_store, open_writer

log = logging.getLogger(__name__)
INITIAL_LOGIN_FILE = "initial-operator.txt"
CONFIG_CATCH_UP_S = 5.0  # a home configuration not yet at the broker is published again


class Centre:
    def __init__(self, settings: ServerSettings, notifier: Notifier | None = None) -> None:
        self.settings = settings
        self.engine = make_engine(settings.sqlalchemy_url)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self.hub = LiveHub()
        # Charts read the store; ingest only offers points to the writer in front of it.
        self.telemetry_store: TelemetryStore = open_store(settings)
        self.telemetry: BatchingWriter = open_writer(settings, self.telemetry_store)
        self.relay: PostgresLiveRelay | None = None
        if self.engine.dialect.name == "postgresql":
            self.relay = PostgresLiveRelay(settings.sqlalchemy_url, self.sessions, self.hub)
        self.metrics = CentreMetrics()
        # Database down, locked or full: one loud episode, shown to operators, then recorded.
        self.store_health = StoreHealth(
            settings.instance, self.sessions, self.hub, via_database=self.relay is not None
        )
        self.handler = UplinkHandler(
            self.sessions,
            self.telemetry,
            notify_in_transaction=self.relay is not None,
            alarm_latency=self.metrics.alarm_latency,
        )
        self.watch = GatewayWatch(self.sessions, self.announce, self.store_health)
        self.broker: BrokerLink | None = None
        if settings.mqtt_enabled:
            self.broker = BrokerLink(
                settings.broker, settings.instance, self.handler, self.hub, self.store_health
            )
        # Webhook secrets are sealed at rest with a key kept outside the database.
        self.secrets = SecretBox(secret_key(settings.secret_key, settings.data_dir))
        self.notify = NotifyChannels(settings.public_url, self.broker, self.sessions, self.secrets)
        self.dispatch = DispatchEngine(
            self.sessions, self.announce, notifier or self.notify.notifier
        )
        self.desk = DispatchDesk(self.dispatch)
        # Wearables connected to the centre directly: the gateway's fall detector, run here.
        # One server process at a time runs it (the leader), so a wearer's batches meet one state.
        self.cloud_falls: CloudFalls | None = None
        self.fall_leader: FallLeadership | None = None
        if self.broker is not None:
            self.cloud_falls = CloudFalls(
                self.handler,
                self.sessions,
                self.broker.deliver,
                cancel_window_s=settings.cloud_fall_cancel_window_s,
                prompt=self.broker.send_command,
                take_samples=self.broker.take_samples,
            )
            self.broker.on_samples = self.cloud_falls.offer
            self.fall_leader = FallLeadership(
                settings.sqlalchemy_url, self.cloud_falls.lead, self.cloud_falls.follow
            )
        self.ticker = PeriodicJob(
            "escalation", settings.dispatch_tick_s, self.dispatch.tick, self.store_health
        )
        # Old delivery records of resolved alarms go; hourly, in short batches.
        self.delivery_retention = PeriodicJob(
            "delivery-retention",
            PRUNE_INTERVAL_S,
            DeliveryRetention(self.sessions, settings.notification_retention_days).prune,
            self.store_health,
        )
        self.accounts: BrokerAccounts | None = accounts_from_settings(
            settings.mosquitto_password_file,
            settings.mosquitto_pid_file,
            settings.mosquitto_reload_command,
            settings.mosquitto_passwd_tool,
        )
        self.configs = ConfigPublisher(self.sessions, self.broker)
        self.config_push = PeriodicJob(
            "config-push", CONFIG_CATCH_UP_S, self.configs.catch_up, self.store_health
        )
        self.metrics.watch(self)

    def prepare_store(self) -> None:
        """Bring the schema up to date and check the secret key against it; idempotent.
        ``python -m server`` calls it before serving, so a wrong key ends the process with
        one line rather than inside the application's start-up."""
        migrate(self.engine, self.secrets)
        self._check_secret_key()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.prepare_store()
        self._ensure_first_user()
        self.hub.bind(loop)
        if self.relay is not None:
            self.relay.start()
        self.watch.start()
        self.ticker.start()
        self.delivery_retention.start()
        self.telemetry.start()
        self.notify.start()
        if self.cloud_falls is not None:
            self.cloud_falls.start()
        if self.broker is not None:
            self.broker.start()
            self.config_push.start()
        if self.fall_leader is not None:
            self.fall_leader.start()

    def announce(self, session: Session, kind: str, alarm: Alarm) -> Callable[[], None]:
        """Announce a change to ``alarm`` on the live stream of every server process.

        Call inside the transaction that makes the change and run the returned callable after
        it commits: on PostgreSQL the NOTIFY rides in the transaction itself, on SQLite the
        event goes to this process's hub once the change is stored.
        """
        event = announce_change(session, kind, alarm, via_database=self.relay is not None)
        return (lambda: self.hub.publish(event)) if event is not None else (lambda: None)

    def stop(self) -> None:
        if self.fall_leader is not None:
            self.fall_leader.stop()
        self.config_push.stop()
        if self.broker is not None:
            self.broker.stop()
        if self.cloud_falls is not None:
            self.cloud_falls.stop()
        if self.relay is not None:
            self.relay.stop()
        self.watch.stop()
        self.ticker.stop()
        self.delivery_retention.stop()
        self.notify.stop()
        self.telemetry.close()
        self.telemetry_store.close()
        self.engine.dispose()

    def _check_secret_key(self) -> None:
        """Stop here, with one clear line, if this key does not open the stored secrets:
        otherwise every webhook notification would fail on its own."""
        with self.sessions.begin() as session:
            serialise_bootstrap(session)
            check_secret_key(session, self.secrets)

    def _ensure_first_user(self) -> None:
        with self.sessions.begin() as session:
            serialise_bootstrap(session)
            if count_users(session):
                return
            given = self.settings.admin_password
            password = given.get_secret_value() if given else new_password()
            username = self.settings.admin_username
            create_user(session, username, password, "admin", datetime.now(UTC))
        if given is None:
            path = _write_private(
                self.settings.data_dir / INITIAL_LOGIN_FILE,
                f"username: {username}\npassword: {password}\n",
            )
            log.info("created the first console account %r; its password is in %s", username, path)
        else:
            log.info("created the first console account %r from the settings", username)


def _write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path.resolve()
