"""Where a responder can be reached: the channels configured for them.

A responder may have several (an app listening on MQTT and an SMS provider behind a webhook);
the composite notifier uses every one. Admins configure them through the API; the notifier
reads them from the store (stored_channels.py). Secrets and webhook URLs never appear in
``repr`` (they would end up in logs and tracebacks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from protocol.topics import ROOT

Adapter = Literal["generic", "sms", "voice"]


def responder_account(responder_id: int) -> str:
    """The responder's MQTT username. The dot cannot occur in a gateway id, so the gateways'
    ``%u`` ACL patterns never let a responder account pass for a gateway."""
    return f"responder.{responder_id}"


def responder_topic(account: str) -> str:
    """``eldercare/v1/responders/<account>/notify``; the ACL's ``%u`` pattern lets only that
    account read it."""
    return f"{ROOT}/responders/{account}/notify"


@dataclass(frozen=True)
class MqttChannel:
    account: str
    channel_id: int | None = None  # the stored channel; None: every responder's default


@dataclass(frozen=True)
class WebhookChannel:
    url: str = field(repr=False)  # providers put keys in query strings
    secret: str = field(repr=False)
    adapter: Adapter = "generic"  # sms / voice: a provider's adapter behind the URL
    channel_id: int | None = None


Channel = MqttChannel | WebhookChannel


class ChannelDirectory(Protocol):
    def channels_for(self, responder_id: int) -> Sequence[Channel]: ...
