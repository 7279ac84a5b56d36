"""Which server process runs cloud fall detection: exactly one at a time, with failover.

A wearer's detector state is one row of one process's memory, so all of a wearer's sample
batches must reach the same process; the shared uplink subscription would split them. The
leader is whoever holds a PostgreSQL session-level advisory lock, taken on a connection of its
own and kept for as long as the process lives: when the process dies (even ``kill -9``) its
connection closes and PostgreSQL frees the lock. The others try to take it every
``poll_s``, so one of them leads within about a second. The leader checks every ``poll_s``
that its lock is still held (its connection may have been cut): if not, it steps down.

On SQLite there is one server process by definition: it always leads.

The leader calls ``on_lead`` (subscribe to the samples, take over the held falls); a leader
that loses the lock calls ``on_follow``. A leader whose connection is cut runs on for up to
``poll_s`` after another took over; two detectors in that moment may raise a fall twice,
never lose one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)
LOCK_KEY = 0x454C4446  # any constant other than the migration lock's
POLL_S = 1.0
_TAKE = text("SELECT pg_try_advisory_lock(:k)")
_HELD = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objid = :k"
)


class FallLeadership:
    """Elects the one server process that runs cloud fall detection (see module doc)."""

    def __init__(
        self,
        url: str,
        on_lead: Callable[[], None],
        on_follow: Callable[[], None],
        *,
        poll_s: float = POLL_S,
    ) -> None:
        self._url = url
        self._on_lead = on_lead
        self._on_follow = on_follow
        self._poll_s = poll_s
        self.leading = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fall-leader", daemon=True)
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._unreachable = False  # logged once per episode, not once per poll
        self.polls = 0

    def start(self) -> None:
        if not self._url.startswith("postgresql"):
            self.leading = True
            self._on_lead()
            return
        # Its own connection, never pooled: the lock lives exactly as long as it does.
        self._engine = create_engine(
            self._url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 5},
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._disconnect()  # the lock goes with the connection
        if self._engine is not None:
            self._engine.dispose()

    def _run(self) -> None:
        while True:
            try:
                self._poll()
            except SQLAlchemyError as err:
                self._lost(err)
            if self._stopping.wait(self._poll_s):
                return

    def _poll(self) -> None:
        assert self._engine is not None
        if self._connection is None:
            self._connection = self._engine.connect()
            self._unreachable = False
        if not self.leading:
            if self._connection.execute(_TAKE, {"k": LOCK_KEY}).scalar():
                self.leading = True
                log.info("this server process now runs cloud fall detection")
                self._on_lead()
        elif not self._connection.execute(_HELD, {"k": LOCK_KEY}).scalar():
            self._lost(None)
        self.polls += 1

    def _lost(self, err: SQLAlchemyError | None) -> None:
        """The connection (and with it the lock) is gone, or the lock is: step down."""
        self._disconnect()
        if self.leading:
            self.leading = False
            log.warning("lost the cloud fall detection lock (%s); another process takes it", err)
            self._on_follow()
        elif err is not None and not self._unreachable:
            self._unreachable = True
            log.warning("cannot reach the store to elect the fall detector (%s)", err)

    def _disconnect(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):  # broken already: closing is all we want
                self._connection.close()
            self._connection = None
