"""A Zigbee2MQTT network that only records: the same topics and payloads, no broker.

For tests of payload shapes and for ``scenario --dry-run``, which shows what a scenario would
publish without connecting anywhere.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RecordedMessage:
    topic: str
    payload: str  # exactly the bytes Zigbee2MQTT would publish, as text
    retain: bool

    def json(self) -> object:
        return json.loads(self.payload)


class RecordingNetwork:
    """Satisfies :class:`~firmware_sim.zigbee_device.StatePublisher`; keeps every message."""

    def __init__(
        self,
        *,
        base_topic: str = "zigbee2mqtt",
        on_message: Callable[[RecordedMessage], None] | None = None,
    ) -> None:
        self.base = base_topic
        self.messages: list[RecordedMessage] = []
        self._on_message = on_message
        self._lock = threading.Lock()

    def publish(
        self, friendly_name: str, payload: dict[str, object], *, retain: bool = False
    ) -> None:
        body = json.dumps(payload, separators=(",", ":"))
        self._record(RecordedMessage(f"{self.base}/{friendly_name}", body, retain))

    def availability(self, friendly_name: str, online: bool) -> None:
        body = json.dumps({"state": "online" if online else "offline"})
        self._record(RecordedMessage(f"{self.base}/{friendly_name}/availability", body, True))

    def states(self, friendly_name: str) -> list[dict[str, object]]:
        """The state payloads published for one device, oldest first."""
        topic = f"{self.base}/{friendly_name}"
        with self._lock:
            found = [m.json() for m in self.messages if m.topic == topic]
        return [m for m in found if isinstance(m, dict)]

    def _record(self, message: RecordedMessage) -> None:
        with self._lock:
            self.messages.append(message)
        if self._on_message is not None:
            self._on_message(message)
