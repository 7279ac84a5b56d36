"""How long delivery records are kept: ``SERVER_NOTIFICATION_RETENTION_DAYS`` after their
alarm was resolved.

Every attempt to reach a responder adds a row (server/notify/stored_deliveries.py), so the
table grows for as long as the centre runs. A periodic job deletes the records older than the
retention whose alarm was resolved before the cutoff as well; an alarm still open keeps every
record, however old, since a supervisor may be reviewing why nobody answered.

Rows go in batches of ``batch_size``, each in its own short transaction, so a large backlog
never holds a long lock over the table the notifiers write to; at most ``max_batches`` per run,
and the next run carries on. Several server processes may prune at once: a row deleted by one
is simply absent for the other.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from server.crud.notify import delete_deliveries, expired_deliveries

log = logging.getLogger(__name__)
PRUNE_INTERVAL_S = 3600.0
BATCH_SIZE = 1000
MAX_BATCHES = 100


class DeliveryRetention:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        days: int,
        *,
        batch_size: int = BATCH_SIZE,
        max_batches: int = MAX_BATCHES,
    ) -> None:
        self._sessions = sessions
        self._keep = timedelta(days=days)
        self._batch_size = batch_size
        self._max_batches = max_batches

    def prune(self, now: datetime) -> int:
        """Delete the records expired at ``now`` (the caller's clock); how many were found
        expired (another process pruning at once may have deleted some of them first)."""
        before = now - self._keep
        pruned = 0
        for _ in range(self._max_batches):
            with self._sessions.begin() as session:
                ids = expired_deliveries(session, before, self._batch_size)
                if ids:
                    delete_deliveries(session, ids)
            pruned += len(ids)
            if len(ids) < self._batch_size:
                break
        if pruned:
            log.info("pruned %d notification delivery records older than %s", pruned, before)
        return pruned
