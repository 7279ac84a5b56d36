"""Live telemetry held for a few seconds and sent as one ``telemetry_batch`` message.

Why: every MQTT message costs the centre's broker and server far more than the reading in it
(the envelope, the topic, the QoS 1 round trip; the centre's ingest spends about 100 us per
one-reading message against a few per reading in a batch), and a home's sensors report many
small readings. So live ``telemetry`` payloads wait here up to ``window_s`` from the first
of them, then go together (`gateway.backlog_batches.outgoing`: a lone reading goes as it
was). Only telemetry waits: alarms go through the outbox on their own lane at once, device
events at once too. A window fills early at ``MAX_BATCH_READINGS`` readings or the payload
limit, and is then due at once.

Thread-safe: the gateway's threads `add`, the uplink's sender thread `take`s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from gateway.backlog import Kept
from gateway.backlog_batches import BATCH_SOURCE_BYTES
from protocol import Channel
from protocol.messages import MAX_BATCH_READINGS


class TelemetryGatherer:
    """Readings (encoded ``telemetry`` payloads) gathered for up to ``window_s`` seconds."""

    def __init__(self, window_s: float, clock: Callable[[], float]) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive; without a window, send at once")
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._rows: list[Kept] = []
        self._bytes = 0
        self._since: float | None = None  # when the first reading of the window came
        self._seq = 0

    def add(self, payload: bytes) -> bool:
        """Hold ``payload``; True when the sender should look now (a window opened or filled)."""
        with self._lock:
            self._seq += 1
            self._rows.append(Kept(self._seq, Channel.TELEMETRY.value, payload))
            self._bytes += len(payload)
            opened = self._since is None
            if opened:
                self._since = self._clock()
            return opened or self._full()

    def due_at(self) -> float | None:
        """When the held readings are to go (now or past when full); None when none."""
        with self._lock:
            if self._since is None:
                return None
            return self._since if self._full() else self._since + self.window_s

    def take(self, *, everything: bool = False) -> list[Kept]:
        """The held readings, oldest first, once due (or ``everything``: on stop, on a lost
        connection); [] before."""
        with self._lock:
            if self._since is None:
                return []
            waited = self._clock() - self._since
            # A clock stepped back (waited < 0) ends the window too: never hold readings on it.
            if not everything and not self._full() and 0 <= waited < self.window_s:
                return []
            rows, self._rows, self._bytes, self._since = self._rows, [], 0, None
            return rows

    def _full(self) -> bool:
        return len(self._rows) >= MAX_BATCH_READINGS or self._bytes >= BATCH_SOURCE_BYTES
