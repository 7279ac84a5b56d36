"""Where a responder can be reached: the channels configured for them.

A responder may have several (an app listening on MQTT and an SMS provider behind a webhook);
the composite notifier uses every one. Secrets never appear in ``repr`` (they would end up in
logs and tracebacks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


@dataclass(frozen=True)
class WebhookChannel:
    url: str
    secret: str = field(repr=False)
    adapter: Adapter = "generic"  # sms / voice: a provider's adapter behind the URL


Channel = MqttChannel | WebhookChannel


class ChannelDirectory(Protocol):
    def channels_for(self, responder_id: int) -> Sequence[Channel]: ...


class StaticDirectory:
    """Channels from a mapping; with ``mqtt_for_all`` every responder also gets their own
    MQTT topic (cheap: nobody subscribed, nothing delivered)."""

    def __init__(
        self, channels: Mapping[int, Sequence[Channel]] | None = None, *, mqtt_for_all: bool
    ) -> None:
        self._channels = dict(channels or {})
        self._mqtt_for_all = mqtt_for_all

    def channels_for(self, responder_id: int) -> Sequence[Channel]:
        found = list(self._channels.get(responder_id, ()))
        if self._mqtt_for_all and not any(isinstance(c, MqttChannel) for c in found):
            found.insert(0, MqttChannel(responder_account(responder_id)))
        return found
