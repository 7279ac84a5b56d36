"""Each registered gateway's configuration on its retained topic
``eldercare/v1/<gateway>/down/config``.

Published after every change, and caught up periodically: a change made while the server had
no broker connection (or whose PUBACK never came) is published as soon as it can be. Only a
PUBACK counts as published; the broker then keeps the message for the gateway, retained, and
hands it over whenever the gateway subscribes. Several server processes may publish the same
revision: it is the same retained message, and the gateway applies a revision once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from protocol import Channel, HomeConfigBody, HomeConfigMessage, TopicName, encode
from server.db.provisioning_models import GatewayRegistration
from server.ingest.broker import BrokerLink

log = logging.getLogger(__name__)
ACK_TIMEOUT_S = 5.0


class ConfigPublisher:
    def __init__(self, sessions: sessionmaker[Session], broker: BrokerLink | None) -> None:
        self._sessions = sessions
        self._broker = broker

    def publish(self, gateway_id: str) -> bool:
        """Publish the gateway's newest configuration; True once the broker holds it."""
        if self._broker is None or not self._broker.connected.is_set():
            return False
        with self._sessions() as session:
            row = session.get(GatewayRegistration, gateway_id)
            if row is None or row.revoked_at is not None or row.config is None:
                return False
            body = HomeConfigBody.model_validate(row.config)
        message = HomeConfigMessage(
            gateway_id=gateway_id, gateway_time=datetime.now(UTC), body=body
        )
        topic = str(TopicName(gateway_id, Channel.CONFIG))
        if not self._broker.publish_retained(topic, encode(message), ACK_TIMEOUT_S):
            log.warning("configuration %d for %s not published yet", body.revision, gateway_id)
            return False
        with self._sessions.begin() as session:
            session.execute(
                update(GatewayRegistration)
                .where(
                    GatewayRegistration.gateway_id == gateway_id,
                    GatewayRegistration.published_revision < body.revision,
                )
                .values(published_revision=body.revision)
            )
        log.info("configuration %d for %s published", body.revision, gateway_id)
        return True

    def clear(self, gateway_id: str) -> bool:
        """Remove the retained configuration (a revoked gateway): an empty retained payload."""
        if self._broker is None or not self._broker.connected.is_set():
            return False
        topic = str(TopicName(gateway_id, Channel.CONFIG))
        return self._broker.publish_retained(topic, b"", ACK_TIMEOUT_S)

    def catch_up(self, _now: datetime) -> None:
        """Publish every configuration newer than what the broker has acknowledged."""
        if self._broker is None or not self._broker.connected.is_set():
            return
        with self._sessions() as session:
            behind = session.scalars(
                select(GatewayRegistration.gateway_id).where(
                    GatewayRegistration.revoked_at.is_(None),
                    GatewayRegistration.published_revision < GatewayRegistration.config_revision,
                )
            ).all()
        for gateway_id in behind:
            self.publish(gateway_id)
