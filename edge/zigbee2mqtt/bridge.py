"""The Zigbee2MQTT driver: subscribes to a home's Zigbee2MQTT broker and decodes payloads.

Topics: ``<base>/<friendly_name>`` carries device state, ``<base>/<friendly_name>/availability``
``online``/``offline`` (or ``{"state": ...}``), ``<base>/bridge/...`` the bridge itself.
Friendly names may contain ``/``, so the whole tail of the topic is matched against the
configured names rather than split on the first level.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import paho.mqtt.client as mqtt

from edge.errors import PayloadError
from edge.events import AvailabilityChanged, DeviceRef, EdgeEvent
from edge.zigbee2mqtt.converters import CONVERTERS, Problem
from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop

log = logging.getLogger(__name__)
MAX_PAYLOAD_BYTES = 16 * 1024
SESSION_EXPIRY_S = 24 * 3600


class Zigbee2MqttBridge:
    """Turns one Zigbee2MQTT instance's messages into edge events for the configured devices."""

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        devices: Mapping[str, DeviceRef],
        sink: Callable[[EdgeEvent], None],
        *,
        client_id: str,
        base_topic: str = "zigbee2mqtt",
        clock: Callable[[], float] = time.time,
    ) -> None:
        unknown = {ref.device_kind for ref in devices.values()} - CONVERTERS.keys()
        if unknown:
            raise ValueError(f"no Zigbee2MQTT converter for device kinds {sorted(unknown)}")
        self._endpoint = endpoint
        self._devices = dict(devices)
        self._sink = sink
        self._base = base_topic
        self._clock = clock
        self.rejected: Counter[str] = Counter()
        self._client = new_client(client_id, endpoint)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message

    def start(self) -> None:
        # A persistent session: a press published while the gateway restarts or the link is
        # down is queued by the broker and delivered on reconnect (Zigbee buttons do not
        # repeat). Set Zigbee2MQTT to publish with QoS 1, or the broker queues nothing. Queued
        # messages arrive with retain=0; only retained state (retain=1) is ignored below.
        connect_in_background(self._client, self._endpoint, session_expiry_s=SESSION_EXPIRY_S)

    def stop(self) -> None:
        stop(self._client)

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("Zigbee2MQTT broker refused the connection: %s", reason)
            return
        client.subscribe(f"{self._base}/#", qos=1)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self.handle(msg.topic, bytes(msg.payload), retained=bool(msg.retain))
        except PayloadError as err:
            self.rejected[err.reason] += 1
            log.warning("dropped Zigbee2MQTT payload on %s: %s", msg.topic, err)

    def handle(self, topic: str, payload: bytes, *, retained: bool) -> None:
        """Decode one message; raises :class:`PayloadError` for a payload that is wrong."""
        tail = topic.removeprefix(f"{self._base}/")
        if tail.startswith("bridge/") or tail.endswith(("/set", "/get")):
            return
        name, _, leaf = tail.rpartition("/availability")
        if leaf == "" and name and name in self._devices:
            self._sink(AvailabilityChanged(self._devices[name], self._clock(), _online(payload)))
            return
        device = self._devices.get(tail)
        if device is None:
            self.rejected["unknown_device"] += 1
            return
        if retained:
            # A retained state is history, not news: never raise an alarm from it.
            return
        state = _json_object(payload)
        for decoded in CONVERTERS[device.device_kind](device, state, self._clock()):
            if isinstance(decoded, Problem):
                self.rejected[decoded.reason] += 1
                log.warning("part of %s's payload unusable: %s", tail, decoded.detail)
            else:
                self._sink(decoded)


def _json_object(payload: bytes) -> Mapping[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError("too_large", f"{len(payload)} bytes")
    try:
        value = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise PayloadError("not_json", str(err)) from err
    if not isinstance(value, dict):
        raise PayloadError("not_object", f"a JSON {type(value).__name__}")
    return value


def _online(payload: bytes) -> bool:
    text = payload.decode(errors="replace").strip()
    if text.startswith("{"):
        state = _json_object(payload).get("state")
        text = state if isinstance(state, str) else ""
    if text not in ("online", "offline"):
        raise PayloadError("bad_value", f"availability {text!r}")
    return text == "online"
