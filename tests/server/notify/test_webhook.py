"""Signed webhooks against a real HTTP receiver on loopback: signature, retries with backoff,
final failure, and the delivery record an operator reads."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from onebox.net import wait_for
from server.dispatch.notifier import ResponderCall
from server.notify.channels import WebhookChannel
from server.notify.deliveries import MemoryDeliveryLog
from server.notify.message import Notification, accept_link
from server.notify.signing import verify
from server.notify.webhook import Backoff, WebhookSender
from tests.server.notify.receiver import receiver

SECRET = "s3cret-for-tests-only"
AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def notification(attempt: int = 1) -> Notification:
    call = ResponderCall(
        "a1b2", 7, attempt, 0, "fall", "home-9", 0, AT, address="Elm Street 4", eta_s=420.0
    )
    return Notification(call, accept_link("https://centre.example", "a1b2"))


class Delays:
    """Injected jitter: records each backoff ceiling and waits nothing."""

    def __init__(self) -> None:
        self.ceilings: list[float] = []

    def __call__(self, low: float, high: float) -> float:
        self.ceilings.append(high)
        return 0.0


@pytest.fixture
def delays() -> Delays:
    return Delays()


@pytest.fixture
def sender(delays: Delays) -> Iterator[WebhookSender]:
    built = WebhookSender(
        MemoryDeliveryLog(), backoff=Backoff(attempts=4, base_s=0.5, cap_s=1.5), uniform=delays
    )
    built.start()
    yield built
    built.stop()


def settled(sender: WebhookSender) -> bool:
    return all(d.state in ("delivered", "failed") for d in sender.deliveries.recent())


def test_signed_delivery_retried_after_two_failures(
    sender: WebhookSender, delays: Delays, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with receiver([503, 502]) as hook:
        sender.send(notification(), WebhookChannel(hook.url, SECRET, "sms"))
        wait_for(lambda: settled(sender) and hook.count() == 3, 10, "three attempts")
        for got in hook.requests:
            assert got.signed_with(SECRET)
            assert not got.signed_with("other")
        sent = json.loads(hook.requests[-1].body)
    assert sent["alarm_id"] == "a1b2"
    assert sent["kind"] == "fall"
    assert sent["address"] == "Elm Street 4"
    assert sent["eta_s"] == 420.0
    assert sent["accept_url"] == "https://centre.example/responder/#alarm=a1b2"
    [delivery] = sender.deliveries.recent("a1b2")
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 3, 200)
    assert delivery.channel == "webhook:sms"
    assert "provider-key" not in delivery.target  # the query string may hold a provider's key
    assert delays.ceilings == [0.5, 1.0]  # exponential, full jitter below these
    assert SECRET not in caplog.text
    assert "provider-key" not in caplog.text


def test_gives_up_after_the_last_attempt_and_says_so(sender: WebhookSender, delays: Delays) -> None:
    with receiver([500, 500, 500, 500, 200]) as hook:
        sender.send(notification(), WebhookChannel(hook.url, SECRET))
        wait_for(lambda: settled(sender), 10, "the delivery to settle")
        assert hook.count() == 4
    [delivery] = sender.deliveries.recent()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 4, 500)
    assert delays.ceilings == [0.5, 1.0, 1.5]  # capped


def test_a_client_error_is_final(sender: WebhookSender) -> None:
    with receiver([400]) as hook:
        sender.send(notification(), WebhookChannel(hook.url, SECRET))
        wait_for(lambda: settled(sender), 10, "the delivery to settle")
        assert hook.count() == 1
    [delivery] = sender.deliveries.recent()
    assert (delivery.state, delivery.last_status) == ("failed", 400)


def test_nobody_listening_is_retried_then_failed(sender: WebhookSender) -> None:
    with receiver([]) as hook:
        url = hook.url  # the port is free again once the receiver is gone
    sender.send(notification(), WebhookChannel(url, SECRET))
    wait_for(lambda: settled(sender), 10, "the delivery to settle")
    [delivery] = sender.deliveries.recent()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 4, None)
    assert delivery.last_error == "ConnectError"


def test_secret_is_not_in_repr() -> None:
    assert SECRET not in repr(WebhookChannel("https://x.example/h", SECRET))


def test_stale_timestamp_is_refused() -> None:
    from server.notify.signing import signature

    body = b'{"a":1}'
    header = signature(SECRET, 1000, body)
    assert verify(SECRET, "1000", header, body, now=1100)
    assert not verify(SECRET, "1000", header, body, now=1000 + 301)
    assert not verify(SECRET, "1000", header, body + b" ", now=1100)
