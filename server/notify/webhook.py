"""Signed webhooks, sent by a worker thread so the engine's tick never waits on the network.

``submit`` only queues; the worker POSTs the notification's JSON with the signature headers
(signing.py) and retries on a timeout, a connection error, 429 or a 5xx with exponential
backoff and "full jitter" (wait a random time between 0 and ``min(cap, base * 2**retry)``,
the scheme that keeps many retrying senders from hammering a recovering receiver in step).
Any other 4xx is final: the receiver said the request itself is wrong. Each attempt updates
the delivery record; after the last one the record says ``failed`` and the escalation
ladder's next repeat is a fresh delivery.

The queue is bounded; a full queue is recorded as a failed delivery and logged as an error,
never dropped in silence.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from server.notify.channels import WebhookChannel
from server.notify.deliveries import Delivery, DeliveryLog, DeliveryState, redact
from server.notify.message import Notification
from server.notify.signing import signed_headers

log = logging.getLogger(__name__)
RETRYABLE_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Backoff:
    attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 30.0

    def delay(self, retry: int, uniform: Callable[[float, float], float]) -> float:
        """Seconds before retry number ``retry`` (0 for the first retry), full jitter."""
        return uniform(0.0, min(self.cap_s, self.base_s * 2**retry))


@dataclass(frozen=True)
class _Job:
    notification: Notification
    channel: WebhookChannel
    delivery: Delivery


class WebhookSender:
    def __init__(
        self,
        deliveries: DeliveryLog,
        *,
        backoff: Backoff | None = None,
        timeout_s: float = 5.0,
        queue_bound: int = 10_000,
        uniform: Callable[[float, float], float] = random.uniform,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.deliveries = deliveries
        self._backoff = backoff or Backoff()
        self._uniform = uniform
        self._clock = clock
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_bound)
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
        _redact_httpx_logs()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            # Wake the worker if it waits for work; a full queue means it is busy and sees
            # the stop flag after this job.
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            self._thread.join(timeout=10)
        self._client.close()

    def send(self, notification: Notification, channel: WebhookChannel) -> None:
        """Queue one delivery; returns at once."""
        now = self._clock()
        delivery = Delivery.pending(
            notification,
            f"webhook:{channel.adapter}",
            redact(channel.url),
            channel.channel_id,
            now,
        )
        self.deliveries.save(delivery)
        try:
            self._queue.put_nowait(_Job(notification, channel, delivery))
        except queue.Full:
            self.deliveries.save(delivery.attempted("failed", None, "send queue full", now))
            log.error("webhook queue full: notification %s not sent", notification.id)

    def _run(self) -> None:
        while not self._stop.is_set():
            job = self._queue.get()
            if job is None:
                return
            try:
                self._deliver(job)
            except Exception:
                # One bad job must not end the worker; the record says what happened so far.
                log.exception("webhook delivery %s crashed", job.delivery.id)

    def _deliver(self, job: _Job) -> None:
        body = json.dumps(job.notification.to_json(), separators=(",", ":")).encode()
        delivery = job.delivery
        for retry in range(self._backoff.attempts):
            status, error = self._post(job.channel, body)
            if status is not None and 200 <= status < 300:
                self.deliveries.save(delivery.attempted("delivered", status, None, self._clock()))
                return
            last = retry + 1 == self._backoff.attempts or not _retryable(status)
            state: DeliveryState = "failed" if last else "retrying"
            delivery = delivery.attempted(state, status, error, self._clock())
            self.deliveries.save(delivery)
            if last or self._stop.wait(self._backoff.delay(retry, self._uniform)):
                break
        log.warning(
            "webhook %s for alarm %s failed after %d attempts (last status %s)",
            delivery.target,
            delivery.alarm_id,
            delivery.attempts,
            delivery.last_status,
        )

    def _post(self, channel: WebhookChannel, body: bytes) -> tuple[int | None, str | None]:
        """One attempt: the status, or None and what went wrong (no URL: it may hold keys)."""
        headers = signed_headers(channel.secret, int(time.time()), body)
        try:
            answer = self._client.post(channel.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, "timeout"
        except httpx.TransportError as err:
            return None, type(err).__name__
        return answer.status_code, None if answer.is_success else answer.reason_phrase


class RedactUrls(logging.Filter):
    """httpx logs every request's full URL at INFO; a provider's key in the query string or
    userinfo must not reach the logs, so URLs in its records are cut to scheme, host, path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


def _redact_httpx_logs() -> None:
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, RedactUrls) for f in httpx_log.filters):
        httpx_log.addFilter(RedactUrls())


def _retryable(status: int | None) -> bool:
    return status is None or status >= 500 or status in RETRYABLE_STATUS
