"""Delivery records kept in SQL, one row per attempt, next to this process's recent view.

The notifiers save a ``Delivery`` before its first attempt (``pending``) and after each one;
every save after an attempt adds a row (crud/notify.py), which any server process serves to
supervisors. The write happens on the sender's thread after the dispatch step committed
(the engine's tick for MQTT, the webhook worker), in its own short transaction. If the store
refuses it, the notification has still gone out: the loss of its record is logged as an
error, since a supervisor will not see that attempt.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from server.crud.notify import add_attempt
from server.notify.deliveries import Delivery, MemoryDeliveryLog

log = logging.getLogger(__name__)


class StoredDeliveryLog(MemoryDeliveryLog):
    def __init__(self, sessions: sessionmaker[Session], keep: int = 5000) -> None:
        super().__init__(keep)
        self._sessions = sessions

    def save(self, delivery: Delivery) -> None:
        super().save(delivery)
        if delivery.attempts == 0:
            return  # queued, not yet attempted
        try:
            with self._sessions.begin() as session:
                add_attempt(session, delivery)
        except SQLAlchemyError as err:
            log.error(
                "delivery record of %s (attempt %d) not stored: %s",
                delivery.notification_id,
                delivery.attempts,
                type(err).__name__,
            )
