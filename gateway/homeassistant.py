"""Home Assistant: the gateway, its devices and the home's alarms in a family's Home Assistant.

Families often run Home Assistant on the home's broker, beside Zigbee2MQTT. With
``GATEWAY_HA_DISCOVERY=true`` the gateway publishes there (its own client id, the z2m_*
connection) retained MQTT discovery configs and states (shapes: ``gateway.ha_entities``):

- the gateway: "Centre connection" (is the link to the dispatch centre up), and the home's
  alarms: "Alarm open" (raised and not yet answered by an operator), "Last alarm" (its kind,
  with device, room and id as attributes), "Last alarm progress" (held / raised / at_centre /
  help_coming / cancelled) and "Last alarm time" (changes with every alarm, so an automation
  fires for a second call of the same kind);
- every configured device: "Gateway supervision" (ok / offline / unknown, the gateway's own
  verdict, distinct from Zigbee2MQTT's), and for a serial device its battery. A Zigbee device
  gets these on the device Zigbee2MQTT's discovery already made (found by its IEEE address in
  the retained ``bridge/devices``); its raw sensors are Zigbee2MQTT's, never duplicated.

Availability: a retained ``offline`` will on ``eldercare_home/<gateway>/status``, ``online`` on
every connect; every entity depends on it, a serial battery also on its device not being
offline. Discovery is sent on connect and again whenever Home Assistant's birth message
(``<prefix>/status`` = ``online``) arrives, after a short random delay as Home Assistant
advises, followed by every state.

Nothing here may slow the gateway: the sinks (``device_state``, ``observe``, and the
:class:`gateway.outbox.OutboxObserver` methods) only queue, on whatever thread calls them; one
thread of this module decodes, renders and publishes. Only ids, kinds and states are
published, never a secret or an alarm's detail.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from edge.events import BatteryReported, DeviceRef, EdgeEvent
from gateway.ha_entities import NO_ALARM, OFFLINE, ONLINE, StateTopics, all_entities
from gateway.supervision import DeviceState
from protocol import AlarmMessage, Channel, CommandKind, CommandMessage, DownlinkMessage
from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop

log = logging.getLogger(__name__)
TICK_S = 1.0  # how often the centre link and held falls are looked at
SETTLE_S = 1.0  # discovery waits this long (plus jitter) after a connect or a birth message
MAX_DEVICE_LIST_BYTES = 4 * 1024 * 1024
KEEP_ALARMS = 50
OPEN_STAGES = frozenset({"held", "raised", "at_centre"})


@dataclass
class AlarmEntry:
    alarm_id: str
    kind: str
    device_id: str | None
    room: str | None
    priority: int
    raised_at: float
    stage: str
    held_until: float | None


class AlarmBoard:
    """The home's recent alarms as a family follows them. Pure: times are passed in."""

    def __init__(self) -> None:
        self.alarms: OrderedDict[str, AlarmEntry] = OrderedDict()

    def stored(self, message: AlarmMessage, hold_until: float | None, now: float) -> None:
        room = message.body.detail.get("room")
        self.alarms[message.id] = AlarmEntry(
            message.id,
            message.body.kind.value,
            message.device_id,
            room if isinstance(room, str) else None,
            message.body.priority,
            message.gateway_time.timestamp(),
            "held" if hold_until is not None and hold_until > now else "raised",
            hold_until,
        )
        while len(self.alarms) > KEEP_ALARMS:
            self.alarms.popitem(last=False)

    def advance(self, alarm_id: str, stage: str) -> bool:
        """Move an alarm on (never back: a late receipt does not undo "help coming")."""
        entry = self.alarms.get(alarm_id)
        order = ("held", "raised", "at_centre", "help_coming")
        if entry is None or entry.stage == "cancelled":
            return False
        if stage != "cancelled" and order.index(stage) <= order.index(entry.stage):
            return False
        entry.stage = stage
        return True

    def expire_holds(self, now: float) -> bool:
        """A held fall whose cancel window closed has gone to the centre."""
        expired = [
            e for e in self.alarms.values() if e.stage == "held" and (e.held_until or 0) <= now
        ]
        for entry in expired:
            entry.stage = "raised"
        return bool(expired)

    def payload(self) -> dict[str, Any]:
        open_count = sum(1 for e in self.alarms.values() if e.stage in OPEN_STAGES)
        last = next(reversed(self.alarms.values()), None)
        if last is None:
            return {
                "kind": NO_ALARM,
                "stage": NO_ALARM,
                "open": False,
                "open_count": 0,
                "raised_at": None,
            }
        return {
            "kind": last.kind,
            "stage": last.stage,
            "open": open_count > 0,
            "open_count": open_count,
            "raised_at": datetime.fromtimestamp(last.raised_at, UTC).isoformat(),
            "alarm_id": last.alarm_id,
            "device_id": last.device_id,
            "room": last.room,
            "priority": last.priority,
        }


@dataclass
class DeviceView:
    state: DeviceState = DeviceState.UNKNOWN
    since: float | None = None
    battery: int | None = None
    battery_low: bool | None = None

    def payload(self) -> dict[str, Any]:
        since = None if self.since is None else datetime.fromtimestamp(self.since, UTC)
        return {
            "state": self.state.value,
            "since": None if since is None else since.isoformat(),
            "battery": self.battery,
            "battery_low": self.battery_low,
        }


_Op = tuple[str, Any, Any, float]


class HomeAssistantPublisher:
    """Owns the Home Assistant connection on the home broker and the thread that publishes."""

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        *,
        gateway_id: str,
        devices: dict[str, DeviceRef],
        prefix: str,
        z2m_base_topic: str | None,
        rooms: dict[str, str] | None = None,
        client_id: str,
        clock: Callable[[], float] = time.time,
        settle_s: float = SETTLE_S,
    ) -> None:
        self.topics = StateTopics(gateway_id)
        self._gateway_id = gateway_id
        self._devices = dict(devices)
        self._rooms = dict(rooms or {})
        self._prefix = prefix
        self._bridge_devices = f"{z2m_base_topic}/bridge/devices" if z2m_base_topic else None
        # Whether the gateway's link to the centre is up (set once the uplink exists).
        self.centre_connected: Callable[[], bool] = lambda: False
        self._clock = clock
        self._settle_s = settle_s
        self._endpoint = endpoint
        self._lock = threading.Lock()
        self._ops: deque[_Op] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.connected = threading.Event()
        self._announce = False
        self._discovery_at: float | None = None
        self._ieee: dict[str, str] = {}
        self.board = AlarmBoard()
        self.views = {d: DeviceView() for d in self._devices}
        self._centre: bool | None = None
        self._dirty: set[str] = set()
        self.discoveries_sent = 0
        self._client = new_client(client_id, endpoint)
        self._client.will_set(self.topics.status, OFFLINE, qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._thread = threading.Thread(target=self._run, name="homeassistant")

    def start(self) -> None:
        connect_in_background(self._client, self._endpoint, session_expiry_s=0)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        if self.connected.is_set():
            info = self._client.publish(self.topics.status, OFFLINE, qos=1, retain=True)
            info.wait_for_publish(timeout=2)
        stop(self._client)

    # Sinks: any thread; they only queue.
    def device_state(self, device_id: str, state: DeviceState, at: float) -> None:
        self._queue(("state", device_id, state, at))

    def observe(self, item: EdgeEvent | DownlinkMessage) -> None:
        """Everything the gateway is fed; only a serial battery and an operator's answer matter."""
        if isinstance(item, BatteryReported) and item.device.transport == "serial":
            battery = (item.battery_percent, item.battery_low)
            self._queue(("battery", item.device.device_id, battery, item.received_at))
        elif isinstance(item, CommandMessage) and item.body.kind is CommandKind.ALARM_HANDLED:
            self._queue(("advance", item.body.alarm_id, "help_coming", 0.0))

    def stored(
        self, message_id: str, channel: str, payload: bytes, hold_until: float | None
    ) -> None:
        if channel == Channel.ALARM.value:
            self._queue(("alarm", payload, hold_until, self._clock()))

    def released(self, message_id: str) -> None:
        self._queue(("advance", message_id, "raised", 0.0))

    def cancelled(self, message_id: str) -> None:
        self._queue(("advance", message_id, "cancelled", 0.0))

    def confirmed(self, message_id: str) -> None:
        self._queue(("advance", message_id, "at_centre", 0.0))

    def _queue(self, op: _Op) -> None:
        self._ops.append(op)  # deque.append is atomic
        self._wake.set()

    # The publishing thread.
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(TICK_S)
            self._wake.clear()
            try:
                self._step(self._clock())
            except Exception:
                # A display must never take the gateway down; it tries again next tick.
                log.exception("Home Assistant publishing failed; continuing")

    def _step(self, now: float) -> None:
        self._apply_ops()
        if self.board.expire_holds(now):
            self._dirty.add("alarm")
        centre = self.centre_connected()
        if centre != self._centre:
            self._centre = centre
            self._dirty.add("centre")
        if not self.connected.is_set():
            return
        with self._lock:
            announce, self._announce = self._announce, False
            due = self._discovery_at is not None and now >= self._discovery_at
            if due:
                self._discovery_at = None
            ieee = dict(self._ieee)
        if announce:
            self._publish(self.topics.status, ONLINE)
        if due:
            self._publish_discovery(ieee)
        for key in sorted(self._dirty):
            self._publish_state(key)
        self._dirty.clear()

    def _apply_ops(self) -> None:
        while self._ops:
            op, key, value, at = self._ops.popleft()
            if op == "alarm":
                try:
                    message = AlarmMessage.model_validate_json(key)
                except ValidationError:
                    log.exception("an alarm in the outbox does not decode; not shown")
                    continue
                self.board.stored(message, value, at)
                self._dirty.add("alarm")
            elif op == "advance":
                if self.board.advance(key, value):
                    self._dirty.add("alarm")
            elif key in self.views:
                view = self.views[key]
                if op == "state":
                    view.state, view.since = value, at
                else:
                    view.battery, view.battery_low = value
                self._dirty.add(f"device:{key}")

    def _publish_discovery(self, ieee: dict[str, str]) -> None:
        entities = all_entities(
            self._prefix, self._gateway_id, self._devices, ieee=ieee, rooms=self._rooms
        )
        for entity in entities:
            self._publish(entity.topic, json.dumps(entity.config))
        self.discoveries_sent += 1
        # Home Assistant needs the states again after (re)reading the configs.
        self._dirty |= {"centre", "alarm", *(f"device:{d}" for d in self.views)}
        log.info("Home Assistant discovery sent: %d entities", len(entities))

    def _publish_state(self, key: str) -> None:
        if key == "centre":
            self._publish(self.topics.centre, "ON" if self._centre else "OFF")
        elif key == "alarm":
            self._publish(self.topics.alarm, json.dumps(self.board.payload()))
        else:
            device_id = key.removeprefix("device:")
            payload = json.dumps(self.views[device_id].payload())
            self._publish(self.topics.device(device_id), payload)

    def _publish(self, topic: str, payload: str) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=True)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning("Home Assistant publish on %s not sent (rc %s)", topic, info.rc)

    # paho's network thread.
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("home broker refused the Home Assistant connection: %s", reason)
            return
        client.subscribe(f"{self._prefix}/status", qos=1)
        if self._bridge_devices:
            client.subscribe(self._bridge_devices, qos=1)
        self.connected.set()
        with self._lock:
            self._announce = True
        self._schedule_discovery()
        log.info("connected to the home broker for Home Assistant")

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        log.warning("Home Assistant link to the home broker lost: %s", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == f"{self._prefix}/status":
            # Home Assistant (re)started: it has forgotten every discovered entity's state.
            if bytes(msg.payload).strip() == ONLINE.encode():
                self._schedule_discovery()
        elif msg.topic == self._bridge_devices:
            self._on_bridge_devices(bytes(msg.payload))

    def _schedule_discovery(self) -> None:
        # Jitter, as Home Assistant advises, so a birth message does not make every device
        # on the broker answer at the same instant.
        at = self._clock() + self._settle_s * random.uniform(0.5, 1.0)  # noqa: S311
        with self._lock:
            if self._discovery_at is None or at < self._discovery_at:
                self._discovery_at = at
        self._wake.set()

    def _on_bridge_devices(self, payload: bytes) -> None:
        """Zigbee2MQTT's paired devices: the IEEE address of each configured Zigbee device
        names the Home Assistant device that the gateway's entities for it join."""
        if not payload:  # the retained list was cleared: keep what is known
            return
        if len(payload) > MAX_DEVICE_LIST_BYTES:
            log.warning("bridge/devices too large (%d bytes); not read", len(payload))
            return
        try:
            listing = json.loads(payload)
        except (UnicodeDecodeError, ValueError, RecursionError):
            log.warning("bridge/devices is not JSON; not read")
            return
        found = {}
        for entry in listing if isinstance(listing, list) else []:
            if isinstance(entry, dict):
                name, ieee = entry.get("friendly_name"), entry.get("ieee_address")
                if isinstance(name, str) and isinstance(ieee, str) and name in self._devices:
                    found[name] = ieee
        with self._lock:
            changed = found != self._ieee
            self._ieee = found
        if changed:
            self._schedule_discovery()
