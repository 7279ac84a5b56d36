"""A wearable that connects to the centre's broker directly (LTE-M, Wi-Fi), no home gateway.

It is its own gateway account: it logs in with its id as the username and publishes its
accelerometer in ``samples`` messages on ``eldercare/v1/<id>/up/samples`` (docs/protocol.md),
on its uptime clock. The centre's fall detector takes time from the samples, so ``play``
sends a recording as fast as the broker acknowledges it. A key press rides in the next batch
(``presses_s``); the wearable reads ``.../down/#`` like a gateway: the centre's receipts, and
its ``fall_prompt`` commands (a possible fall is held: buzz for ``duration_s``; a press in the
window cancels it), which it records in ``prompts``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt

from protocol import (
    Channel,
    CommandKind,
    CommandMessage,
    MessageRejected,
    SamplesBody,
    SamplesMessage,
    TopicName,
    decode_downlink,
    encode,
)
from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop
from protocol.topics import GatewayTopics

PUBLISH_TIMEOUT_S = 10.0


class CloudWearable:
    """A belt-worn cloud wearable, simulated; ``start`` connects, ``play`` streams."""

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        home_id: str,
        *,
        uptime_s: float = 1000.0,
        claims: str | None = None,
    ) -> None:
        """``claims``: publish as this wearable instead of itself (a forgery the broker's
        ACL must refuse); by default the wearable is its broker account."""
        self.wearable_id = claims or endpoint.username
        self.home_id = home_id
        self.uptime_s = uptime_s  # device clock of the next sample
        self.connected = threading.Event()
        self._endpoint = endpoint
        self._presses: list[float] = []
        self._client = new_client(f"wearable-{endpoint.username}", endpoint)
        self.prompts: list[CommandMessage] = []  # fall_prompt commands, as they came
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._topic = str(TopicName(self.wearable_id, Channel.SAMPLES))

    def start(self) -> CloudWearable:
        connect_in_background(self._client, self._endpoint, session_expiry_s=0)
        return self

    def stop(self) -> None:
        stop(self._client)

    def press(self) -> None:
        """The key: reported, on the device's clock, with the next batch."""
        self._presses.append(self.uptime_s)

    def play(self, acc_g: Sequence[Sequence[float]], rate_hz: float, per_batch: int = 100) -> None:
        """Send a recording (n, 3) g sampled at ``rate_hz``, ``per_batch`` samples a message,
        each acknowledged by the broker before the next (QoS 1, in order)."""
        for lo in range(0, len(acc_g), per_batch):
            rows = acc_g[lo : lo + per_batch]
            times = [self.uptime_s + i / rate_hz for i in range(len(rows))]
            self.uptime_s += len(rows) / rate_hz
            self.send(times, rows)

    def send(self, t_s: Sequence[float], acc_g: Sequence[Sequence[float]]) -> None:
        presses, self._presses = self._presses, []
        message = SamplesMessage(
            gateway_id=self.wearable_id,
            device_id=self.wearable_id,
            gateway_time=datetime.now(UTC),
            body=SamplesBody(
                home_id=self.home_id,
                t_s=list(t_s),
                g=[(float(x), float(y), float(z)) for x, y, z in acc_g],
                presses_s=presses,
            ),
        )
        info = self._client.publish(self._topic, encode(message), qos=1)
        info.wait_for_publish(PUBLISH_TIMEOUT_S)
        if not info.is_published():
            raise TimeoutError(f"{self.wearable_id}: the broker did not take a batch")

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            # Its own account's downlink: a forger gets nothing for the wearable it claims.
            self._client.subscribe(GatewayTopics(self._endpoint.username).downlink_filter, 1)
            self.connected.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            message = decode_downlink(msg.topic, bytes(msg.payload))
        except MessageRejected:
            return  # not for a wearable of this firmware: a real one would ignore it too
        if isinstance(message, CommandMessage) and message.body.kind is CommandKind.FALL_PROMPT:
            self.prompts.append(message)  # the buzzer would sound for body.duration_s
