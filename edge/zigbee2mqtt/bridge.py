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

from edge.devices import REGISTRY, DeviceKind
from edge.errors import PayloadError
from edge.events import (
    AvailabilityChanged,
    DeviceRef,
    EdgeEvent,
    FallReported,
    HazardReported,
    KeyPressed,
)
from edge.flood import FloodGate
from edge.zigbee2mqtt.converters import CONVERTERS, Problem
from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop

log = logging.getLogger(__name__)
MAX_PAYLOAD_BYTES = 16 * 1024
URGENT_EVENTS = (KeyPressed, FallReported, HazardReported)  # never dropped as a flood
MAX_DEVICE_LIST_BYTES = 4 * 1024 * 1024  # bridge/devices: about 2 kB per paired device
# Zigbee2MQTT itself, as a device whose availability is its bridge state.
BRIDGE_DEVICE = DeviceRef("zigbee2mqtt", "zigbee2mqtt_bridge", "zigbee2mqtt")
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
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.discovered: dict[str, DeviceKind | None] = {}
        self._gates: dict[str, FloodGate] = {}
        self._monotonic = monotonic  # the flood gates' clock
        self._devices: dict[str, DeviceRef] = {}
        self.set_devices(devices)
        self._endpoint = endpoint
        self._sink = sink
        self._base = base_topic
        self._clock = clock
        self.rejected: Counter[str] = Counter()
        self.refused = False  # the home broker is refusing the gateway (an episode, said once)
        self._client = new_client(client_id, endpoint)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message

    def set_devices(self, devices: Mapping[str, DeviceRef]) -> None:
        """Listen for exactly these devices from now on. The MQTT thread reads the table, so
        it is replaced whole, never edited in place."""
        unknown = {ref.device_kind for ref in devices.values()} - CONVERTERS.keys()
        if unknown:
            raise ValueError(f"no Zigbee2MQTT converter for device kinds {sorted(unknown)}")
        self._devices = dict(devices)

    def _discover(self, listing: Any) -> dict[str, DeviceKind | None]:
        """Check the configuration against ``bridge/devices`` (Zigbee2MQTT's retained list of
        paired devices): name each paired device's kind by its model, and warn about a device
        configured as another kind, paired but not configured, or configured but not paired.
        Nothing is raised from it: the configuration stays the authority."""
        if not isinstance(listing, list):
            raise PayloadError("bad_value", "bridge/devices is not a list")
        found: dict[str, DeviceKind | None] = {}
        for entry in listing:
            if not isinstance(entry, dict) or entry.get("type") == "Coordinator":
                continue
            name, definition = entry.get("friendly_name"), entry.get("definition")
            model = definition.get("model") if isinstance(definition, dict) else None
            if not isinstance(name, str):
                continue
            kind = REGISTRY.identify("zigbee2mqtt", model) if isinstance(model, str) else None
            found[name] = kind
            configured = self._devices.get(name)
            if configured is None:
                log.info("Zigbee device %r (%s) is paired but not configured", name, model)
            elif kind is not None and kind.name != configured.device_kind:
                log.warning(
                    "Zigbee device %r is configured as %s but its model %s is a %s",
                    name,
                    configured.device_kind,
                    model,
                    kind.name,
                )
        for name in self._devices.keys() - found.keys():
            log.warning("configured Zigbee device %r is not paired with Zigbee2MQTT", name)
        return found

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
            # paho retries with back-off; one line per episode, not per retry. While refused
            # no Zigbee device can be heard, exactly as with Zigbee2MQTT itself down, so
            # supervision hears "bridge offline" and the centre gets its technical alarm.
            if not self.refused:
                self.refused = True
                log.error("Zigbee2MQTT broker refused the connection: %s", reason)
                self._sink(AvailabilityChanged(BRIDGE_DEVICE, self._clock(), False))
            return
        if self.refused:
            self.refused = False
            log.warning("Zigbee2MQTT broker accepts the gateway again")
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
        if tail == "bridge/state":
            # Zigbee2MQTT itself: while it is down no Zigbee device can be heard.
            self._sink(AvailabilityChanged(BRIDGE_DEVICE, self._clock(), _online(payload)))
            return
        if tail == "bridge/devices":
            self.discovered = self._discover(_json_value(payload, MAX_DEVICE_LIST_BYTES))
            return
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
        decoded_all = CONVERTERS[device.device_kind](device, state, self._clock())
        urgent = any(isinstance(d, URGENT_EVENTS) for d in decoded_all)
        gate = self._gates.setdefault(tail, FloodGate())
        if not gate.admit(self._monotonic()) and not urgent:
            self.rejected["flood"] += 1
            return
        for decoded in decoded_all:
            if isinstance(decoded, Problem):
                self.rejected[decoded.reason] += 1
                log.warning("part of %s's payload unusable: %s", tail, decoded.detail)
            else:
                self._sink(decoded)


def _json_value(payload: bytes, limit: int = MAX_PAYLOAD_BYTES) -> Any:
    if len(payload) > limit:
        raise PayloadError("too_large", f"{len(payload)} bytes")
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise PayloadError("not_json", str(err)) from err


def _json_object(payload: bytes) -> Mapping[str, Any]:
    value = _json_value(payload)
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
