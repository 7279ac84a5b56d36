"""The telemetry writer: a bounded queue, two threads, batches by size and by age, retries.

Ingest `offer`s points and returns at once; it never waits for a store, so an alarm handled
on the same MQTT thread never waits behind telemetry. The writer thread takes a batch when
``batch_size`` points are queued or the oldest has waited ``max_age_s``, has the store encode
it (`TelemetryStore.encode`: InfluxDB's line protocol), and hands it to the sender thread,
which writes one batch at a time. So the next batch is encoded while the store is busy with
the last (one write in flight, as a client posting prebuilt batches has; the encoding starts
once the last one's request has gone out, see `_send`), and the store is not left idle while
the server makes text:

- unreachable store or a 5xx: the batch is kept and retried with exponential backoff (capped)
  until it goes through; meanwhile the queue fills;
- the queue full: the oldest queued point is dropped for the new one, counted, and the ingest
  path told (`Admission.DISPLACED_OLDEST`). Oldest first, because a chart needs the present;
  telemetry may be thinned under pressure, alarms (in SQL, not here) never are;
- points refused (4xx): counted and logged; a batch refused as a whole for what is in it is
  split in halves until the bad points are isolated; never retried unchanged.

`close` writes what is queued (retrying until its timeout), then drops the rest, counted.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from server.telemetry import (
    Admission,
    TelemetryPoint,
    TelemetryRejected,
    TelemetryStore,
    TelemetryWriteError,
)
from server.telemetry.point_queue import PointQueue
from server.telemetry.stats import WriterCounters, WriterStats

log = logging.getLogger(__name__)
# The thread re-reads the (injectable) clock at least this often while it waits.
_MAX_WAIT_S = 0.2


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """When to write and how to retry; times in seconds."""

    batch_size: int = 5000
    max_age_s: float = 1.0
    queue_bound: int = 200_000
    retry_initial_s: float = 0.1
    retry_max_s: float = 30.0
    housekeeping_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.queue_bound < self.batch_size:
            raise ValueError("need 1 <= batch_size <= queue_bound")
        if self.max_age_s <= 0 or self.retry_initial_s <= 0:
            raise ValueError("ages and delays must be positive")

    def due(self, queued: int, oldest_age_s: float | None, flushing: bool) -> bool:
        """Should the writer take a batch now?"""
        if queued >= self.batch_size:
            return True
        return queued > 0 and (
            flushing or (oldest_age_s is not None and oldest_age_s >= self.max_age_s)
        )


class BatchingWriter:
    """Writes offered points to ``store`` in batches from its own thread.

    ``clock`` (monotonic seconds) decides ages and housekeeping; inject one in tests.
    """

    def __init__(
        self,
        store: TelemetryStore,
        policy: BatchPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        name: str = "telemetry-writer",
    ) -> None:
        self.store = store
        self.policy = policy or BatchPolicy()
        self._clock = clock
        self._queue = PointQueue()
        self._cond = threading.Condition()
        self._counters = WriterCounters()
        self._in_flight = 0
        self._flushing = False
        self._stopping = False
        self._shedding = False
        self._abandon = threading.Event()  # close() timed out: stop retrying, drop the rest
        self._prepared = False
        self._next_housekeeping: float | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        # Batches taken and encoded, for the sender (None: stop). The writer takes a batch only
        # once the last one's request has gone out (or its write has ended), so at most two are
        # out of the queue: one being written, one being encoded or waiting.
        self._outbox: queue.SimpleQueue[tuple[Sequence[TelemetryPoint], bytes | None] | None]
        self._outbox = queue.SimpleQueue()
        self._slot = threading.Semaphore(1)
        self._sender = threading.Thread(target=self._send, name=f"{name}-send", daemon=True)

    def start(self) -> BatchingWriter:
        self._sender.start()
        self._thread.start()
        return self

    # -- ingest side -------------------------------------------------------------------------

    def offer(self, point: TelemetryPoint) -> Admission:
        """Queue ``point``; O(1), never blocks on the store."""
        admitted = self.offer_many((point,))
        if admitted[Admission.REFUSED]:
            return Admission.REFUSED
        return (
            Admission.DISPLACED_OLDEST if admitted[Admission.DISPLACED_OLDEST] else Admission.QUEUED
        )

    def offer_many(self, points: Sequence[TelemetryPoint]) -> Counter[Admission]:
        """Queue ``points`` (a batch message's, kept as they are: not to be changed after)
        under one lock; never blocks on the store.

        Counts per `Admission`: each point that made the oldest queued one give way is
        ``DISPLACED_OLDEST``, the others ``QUEUED``; all ``REFUSED`` while closing.
        """
        admitted: Counter[Admission] = Counter()
        if not points:
            return admitted
        with self._cond:
            if self._stopping:
                self._counters.dropped["closed"] += len(points)
                admitted[Admission.REFUSED] = len(points)
                return admitted
            before = len(self._queue)
            self._queue.extend(points, self._clock())
            displaced = self._queue.drop_oldest(len(self._queue) - self.policy.queue_bound)
            if displaced:
                self._counters.dropped["queue_full"] += displaced
                self._start_shedding()
            self._counters.accepted += len(points)
            queued = len(self._queue)
            if before == 0 or before < self.policy.batch_size <= queued:
                self._cond.notify_all()
        admitted[Admission.QUEUED] = len(points) - displaced
        admitted[Admission.DISPLACED_OLDEST] = displaced
        return admitted

    def _start_shedding(self) -> None:
        """Under the lock: say so once per episode of a full queue."""
        if not self._shedding:
            self._shedding = True
            log.warning(
                "telemetry queue full (%d points): dropping the oldest points; "
                "the telemetry store is not keeping up",
                self.policy.queue_bound,
            )

    def stats(self) -> WriterStats:
        with self._cond:
            return self._counters.snapshot(len(self._queue) + self._in_flight, self._shedding)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Write everything queued now; True once written (or refused), False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._flushing = True
            self._cond.notify_all()
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(min(remaining, _MAX_WAIT_S))
            return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop taking points, write the queue (retrying up to ``timeout_s``), stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                self._abandon.set()
                self._thread.join(timeout_s)
        with self._cond:
            left = self._queue.clear()
            if left:
                self._counters.dropped["shutdown"] += left
            lost = self._counters.dropped.get("shutdown", 0)
        if lost:
            log.error(
                "telemetry writer stopped with %d point(s) unwritten: the store was unreachable",
                lost,
            )

    # -- writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._prepare_at_start()
            while True:
                self._slot.acquire()  # until the last batch has been sent
                batch = self._next_batch()
                if batch is None:
                    return
                if batch:
                    self._hand_over(batch)
                else:
                    self._slot.release()
                self._housekeep_when_due()
        finally:
            self._outbox.put(None)
            self._sender.join()

    def _hand_over(self, batch: Sequence[TelemetryPoint]) -> None:
        """Encode ``batch`` here, ahead of its write, and give it to the sender. A batch the
        store cannot encode could not be written either: counted as lost, never sent."""
        try:
            encoded = self.store.encode(batch)
        except Exception:
            log.exception("telemetry writer could not encode a batch of %d points", len(batch))
            with self._cond:
                self._counters.dropped["error"] += len(batch)
                self._in_flight -= len(batch)
                self._cond.notify_all()
            self._slot.release()
            return
        self._outbox.put((batch, encoded))

    def _send(self) -> None:
        """Write batch after batch. The writer may take and encode the next batch once this
        one's request has gone out, while the store works on it: not before, as the encoding
        would hold up the sending (one interpreter; the README's Telemetry section has the
        figures). Whatever becomes of the write, the writer gets its turn."""
        while (item := self._outbox.get()) is not None:
            sent = _Once(self._slot.release)
            try:
                self._write_timed(*item, sent)
            finally:
                sent()

    def _write_timed(
        self, batch: Sequence[TelemetryPoint], encoded: bytes | None, sent: Callable[[], None]
    ) -> None:
        started = time.perf_counter()
        try:
            self._deliver(batch, encoded, sent)
        except Exception:
            # The thread must outlive a bug in one batch; the batch is counted as lost.
            log.exception("telemetry writer failed on a batch of %d points", len(batch))
            with self._cond:
                self._counters.dropped["error"] += len(batch)
        with self._cond:
            self._in_flight -= len(batch)
            self._counters.observe_batch(time.perf_counter() - started)
            if self._shedding and len(self._queue) < self.policy.queue_bound // 2:
                self._shedding = False
                log.warning(
                    "telemetry queue below half again; %d point(s) shed so far",
                    self._counters.dropped["queue_full"],
                )
            self._cond.notify_all()

    def _next_batch(self) -> Sequence[TelemetryPoint] | None:
        """Wait until a batch (or housekeeping: ``[]``) is due; None when stopping, all done."""
        with self._cond:
            while True:
                if self._abandon.is_set() or (self._stopping and not self._queue):
                    return None
                if self._next_housekeeping is None or self._clock() >= self._next_housekeeping:
                    return []
                queued = len(self._queue)
                oldest = self._queue.oldest_arrival()
                age = self._clock() - oldest if oldest is not None else None
                if self.policy.due(queued, age, self._flushing or self._stopping):
                    count = min(queued, self.policy.batch_size)
                    batch = self._queue.take(count)
                    self._in_flight += count
                    return batch
                if not queued:
                    self._flushing = False
                wait = self.policy.max_age_s - age if age is not None else _MAX_WAIT_S
                self._cond.wait(min(max(wait, 0.0), _MAX_WAIT_S))

    def _deliver(
        self, batch: Sequence[TelemetryPoint], encoded: bytes | None, sent: Callable[[], None]
    ) -> None:
        """Write ``batch``, retrying while the store is unreachable; drop it on abandon."""
        delay = self.policy.retry_initial_s
        failing_since: float | None = None
        while True:
            if self._abandon.is_set():  # also a batch that was waiting for the sender
                with self._cond:
                    self._counters.dropped["shutdown"] += len(batch)
                return
            try:
                self._prepare()
                self._write(batch, encoded, sent)
            except TelemetryWriteError as err:
                if not err.retryable:
                    # E.g. the database could not be created: a set-up fault, not the data's.
                    with self._cond:
                        self._counters.dropped["rejected"] += len(batch)
                    log.error("telemetry store refused a batch of %d: %s", len(batch), err)
                    return
                with self._cond:
                    self._counters.retries += 1
                if failing_since is None:
                    failing_since = time.monotonic()
                    log.warning("telemetry store unavailable, retrying with backoff: %s", err)
                self._abandon.wait(delay)
                delay = min(delay * 2, self.policy.retry_max_s)
                continue
            if failing_since is not None:
                log.warning("telemetry store back after %.1f s", time.monotonic() - failing_since)
            return

    @property
    def prepared(self) -> bool:
        """Whether the store's set-up is done with: made at start, or with the first batch if
        the store was unreachable then, or refused for good (logged; written without it)."""
        return self._prepared

    def _prepare_at_start(self) -> None:
        """Before the first batch, so that batch is not held up by it (and a store that refuses
        the set-up says so at start). Unreachable now, it is tried again with the first batch."""
        try:
            self._prepare()
        except TelemetryWriteError as err:
            log.warning(
                "telemetry store not ready at start; trying again with the first batch: %s", err
            )
        except Exception:
            log.exception(
                "telemetry store set-up failed at start; trying again with the first batch"
            )

    def _prepare(self) -> None:
        """Once, before the first write; a retryable failure is retried with the batch."""
        if self._prepared:
            return
        try:
            self.store.prepare()
        except TelemetryWriteError as err:
            if err.retryable:
                raise
            # Say it loudly once, then write anyway: the schema may be someone else's job.
            log.error("telemetry store set-up failed; writing without it: %s", err)
        self._prepared = True

    def _write(
        self,
        batch: Sequence[TelemetryPoint],
        encoded: bytes | None = None,
        sent: Callable[[], None] | None = None,
    ) -> None:
        """One attempt; refusals are counted here, a retryable error goes up."""
        try:
            self.store.write_batch(batch, encoded, sent)
        except TelemetryRejected as err:
            if err.splittable and len(batch) > 1:
                half = len(batch) // 2
                self._write(batch[:half])
                self._write(batch[half:])
                return
            refused = min(err.dropped or 1, len(batch)) if err.partial else len(batch)
            with self._cond:
                self._counters.dropped["rejected"] += refused
                self._counters.written += len(batch) - refused
            log.warning("telemetry store refused %d of %d point(s): %s", refused, len(batch), err)
            return
        with self._cond:
            self._counters.written += len(batch)

    def _housekeep_when_due(self) -> None:
        """At start, then every ``housekeeping_s``, with or without telemetry coming in."""
        now = self._clock()
        if self._next_housekeeping is not None and now < self._next_housekeeping:
            return
        self._next_housekeeping = now + self.policy.housekeeping_s
        try:
            self.store.housekeep()
        except TelemetryWriteError as err:
            log.warning("telemetry housekeeping failed: %s", err)


class _Once:
    """``action`` on the first call only: a write reports its request sent, and its retries
    (and a re-post after creating the database) report again. Called on the sender thread
    alone."""

    def __init__(self, action: Callable[[], object]) -> None:
        self._action: Callable[[], object] | None = action

    def __call__(self) -> None:
        action, self._action = self._action, None
        if action is not None:
            action()
