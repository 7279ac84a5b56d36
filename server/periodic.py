"""A background thread that runs a job against the wall clock every few seconds.

Jobs take ``now`` as an argument (tests call them directly with the moment they want); this
is the one place that reads the clock for them. A failing run is logged and the next one
tries again: a database hiccup must not stop the gateway watch or the escalation ladder. With
a :class:`StoreHealth`, a run that fails because the database is down is reported there (one
line per episode, not one traceback per run). Only ingest's writes end the episode: a job
that succeeds may have only read, which a full or locked database still allows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from server.store_health import StoreHealth, is_store_fault

log = logging.getLogger(__name__)


class PeriodicJob:
    def __init__(
        self,
        name: str,
        interval_s: float,
        job: Callable[[datetime], object],
        store: StoreHealth | None = None,
    ) -> None:
        self._name = name
        self._store = store
        self._interval_s = interval_s
        self._job = job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._job(datetime.now(UTC))
            except Exception as err:
                if self._store is not None and is_store_fault(err):
                    self._store.failed(err, self._name)
                else:
                    log.exception("%s failed; retrying in %.1f s", self._name, self._interval_s)
