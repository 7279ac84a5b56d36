"""A background thread that runs a job against the wall clock every few seconds.

Jobs take ``now`` as an argument (tests call them directly with the moment they want); this
is the one place that reads the clock for them. A failing run is logged and the next one
tries again: a database hiccup must not stop the gateway watch or the escalation ladder.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

log = logging.getLogger(__name__)


class PeriodicJob:
    def __init__(self, name: str, interval_s: float, job: Callable[[datetime], object]) -> None:
        self._name = name
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
            except Exception:
                log.exception("%s failed; retrying in %.1f s", self._name, self._interval_s)
