"""What the gateway shows in Home Assistant: MQTT discovery configs and state payloads, pure.

Shapes follow Home Assistant's MQTT discovery documentation (integrations/mqtt,
binary_sensor.mqtt, sensor.mqtt): one retained config per entity on
``<prefix>/<component>/<node_id>/<object_id>/config`` with ``unique_id``, ``object_id``, a
``device`` block (``identifiers``, ``name``, ``model``, ``via_device``), an ``availability``
list and an ``origin``. Node and object ids may only hold ``[A-Za-z0-9_-]``; a device id
that holds more (``.`` and ``:`` are wire-safe) is cleaned and given a short hash, so two ids
never share an object id.

Topics. Discovery: ``<prefix>/<component>/eldercare/<gateway>_<entity>/config``: one fixed
node id, so the home broker's ACL can give the gateway exactly its own node
(``homeassistant/+/eldercare/+/config``) and never Zigbee2MQTT's configs. State, all retained,
under ``eldercare_home/<gateway>/``: ``status`` (``online``/``offline``, the MQTT will), ``centre``
(``ON``/``OFF``), ``alarm`` (JSON) and ``device/<device id>`` (JSON).

Home Assistant's template output ``None`` means "unknown" (``PAYLOAD_NONE`` in its MQTT
platforms), which is how a device the gateway has not heard yet is shown: unknown is not ok
and not offline.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from edge.devices import REGISTRY
from edge.devices.capabilities import Battery
from edge.events import DeviceRef
from protocol import AlarmKind

DEFAULT_PREFIX = "homeassistant"
NODE_ID = "eldercare"
# Not "eldercare": that is the wire contract's root, which a home broker never carries.
STATE_ROOT = "eldercare_home"
ORIGIN = {"name": "eldercare-gateway"}
MANUFACTURER = "Eldercare alarm (open source)"
ONLINE, OFFLINE = "online", "offline"
# Zigbee2MQTT names its Home Assistant device "zigbee2mqtt_<IEEE address>".
_IEEE = re.compile(r"0x[0-9a-fA-F]{16}")
_OBJECT_ID = re.compile(r"[A-Za-z0-9_-]+")
_NOT_OBJECT_ID = re.compile(r"[^A-Za-z0-9_-]")
# Stages of an alarm as a family follows it; "held" is a possible fall the resident may
# still cancel, "help_coming" the operator's answer.
STAGES = ("none", "held", "raised", "at_centre", "help_coming", "cancelled")
NO_ALARM = "none"


def validate_prefix(prefix: str) -> str:
    """A discovery prefix: topic levels without wildcards, empty levels or ``$`` (broker
    system topics). Raises ValueError."""
    levels = prefix.split("/")
    if prefix.startswith("$") or any(not level for level in levels):
        raise ValueError(f"discovery prefix {prefix!r} has an empty level or starts with $")
    if any(ch in prefix for ch in "+#\0"):
        raise ValueError(f"discovery prefix {prefix!r} contains an MQTT wildcard or NUL")
    return prefix


def topic_level(value: str) -> str:
    """``value`` as one topic level: never a wildcard, a separator or empty. Raises ValueError."""
    if not value or any(ch in value for ch in "/+#\0"):
        raise ValueError(f"{value!r} cannot be a topic level")
    return value


def object_id(*parts: str) -> str:
    """Home Assistant's object id from parts, each cleaned to ``[A-Za-z0-9_-]`` (plus a hash
    of the original when cleaning changed it, so distinct ids stay distinct)."""
    cleaned = []
    for part in parts:
        if _OBJECT_ID.fullmatch(part):
            cleaned.append(part)
        else:
            digest = hashlib.sha256(part.encode()).hexdigest()[:8]
            cleaned.append(f"{_NOT_OBJECT_ID.sub('_', part)}_{digest}")
    return "_".join(cleaned)


@dataclass(frozen=True)
class StateTopics:
    """The retained state topics of one gateway on the home broker."""

    gateway_id: str

    @property
    def base(self) -> str:
        return f"{STATE_ROOT}/{topic_level(self.gateway_id)}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def centre(self) -> str:
        return f"{self.base}/centre"

    @property
    def alarm(self) -> str:
        return f"{self.base}/alarm"

    def device(self, device_id: str) -> str:
        return f"{self.base}/device/{topic_level(device_id)}"


@dataclass(frozen=True)
class Discovery:
    """One entity's discovery message: retained ``config`` on ``topic``."""

    topic: str
    config: dict[str, Any]


def gateway_device(gateway_id: str) -> dict[str, Any]:
    return {
        "identifiers": [f"eldercare_{gateway_id}"],
        "name": f"Eldercare gateway {gateway_id}",
        "manufacturer": MANUFACTURER,
        "model": "Home gateway",
    }


def _available_while(topic: str) -> dict[str, str]:
    """One entry of an ``availability`` list."""
    return {"topic": topic, "payload_available": ONLINE, "payload_not_available": OFFLINE}


def _entity(
    prefix: str,
    component: str,
    oid: str,
    device: dict[str, Any],
    availability: list[dict[str, str]],
    **options: Any,
) -> Discovery:
    config = {
        "unique_id": oid,
        "object_id": oid,
        "device": device,
        "origin": ORIGIN,
        "availability": availability,
        "availability_mode": "all",
        "qos": 1,
        **options,
    }
    return Discovery(f"{validate_prefix(prefix)}/{component}/{NODE_ID}/{oid}/config", config)


def gateway_entities(prefix: str, gateway_id: str) -> list[Discovery]:
    """The gateway itself: its link to the centre, and the home's alarms.

    One "last alarm" (kind, progress, time, attributes) and one "alarm open" rather than a
    sensor per alarm kind: calls, falls and inactivity have no "off" the gateway could show
    (only an operator's answer ends them), fourteen mostly-idle entities bury the one that
    matters, and a family's automation needs one trigger ("an alarm opened", "help is
    coming"). Smoke, gas and water sensors already show their own state through
    Zigbee2MQTT's discovery; their alarms appear here like every other.
    """
    topics = StateTopics(gateway_id)
    device = gateway_device(gateway_id)
    online = [_available_while(topics.status)]

    def oid(name: str) -> str:
        return object_id(gateway_id, name)

    alarm = {"state_topic": topics.alarm}
    return [
        _entity(
            prefix,
            "binary_sensor",
            oid("centre"),
            device,
            online,
            name="Centre connection",
            state_topic=topics.centre,
            device_class="connectivity",
            entity_category="diagnostic",
        ),
        _entity(
            prefix,
            "binary_sensor",
            oid("alarm_open"),
            device,
            online,
            **alarm,
            name="Alarm open",
            device_class="safety",
            value_template="{{ 'ON' if value_json.open else 'OFF' }}",
        ),
        _entity(
            prefix,
            "sensor",
            oid("last_alarm"),
            device,
            online,
            **alarm,
            name="Last alarm",
            device_class="enum",
            options=[NO_ALARM, *(kind.value for kind in AlarmKind)],
            value_template="{{ value_json.kind }}",
            json_attributes_topic=topics.alarm,
            icon="mdi:alarm-light",
        ),
        _entity(
            prefix,
            "sensor",
            oid("last_alarm_progress"),
            device,
            online,
            **alarm,
            name="Last alarm progress",
            device_class="enum",
            options=list(STAGES),
            value_template="{{ value_json.stage }}",
        ),
        _entity(
            prefix,
            "sensor",
            oid("last_alarm_time"),
            device,
            online,
            **alarm,
            name="Last alarm time",
            device_class="timestamp",
            value_template="{{ value_json.raised_at }}",
        ),
    ]


def device_block(
    gateway_id: str, device: DeviceRef, *, ieee: str | None, room: str | None
) -> dict[str, Any]:
    """The Home Assistant device an entity of ``device`` belongs to.

    A paired Zigbee device already has one, made by Zigbee2MQTT's own discovery: the gateway's
    entities join it (its identifier and name only, so Zigbee2MQTT's model and vendor stay).
    Any other device gets its own, routed through the gateway (``via_device``).
    """
    if device.transport == "zigbee2mqtt" and ieee is not None and _IEEE.fullmatch(ieee):
        return {"identifiers": [f"zigbee2mqtt_{ieee}"], "name": device.device_id}
    block: dict[str, Any] = {
        "identifiers": [f"eldercare_{gateway_id}_{device.device_id}"],
        "name": device.device_id,
        "via_device": f"eldercare_{gateway_id}",
    }
    if device.device_kind in REGISTRY:
        block["model"] = REGISTRY.get(device.device_kind).title
    if room:
        block["suggested_area"] = room
    return block


def device_entities(
    prefix: str, gateway_id: str, device: DeviceRef, *, ieee: str | None, room: str | None
) -> list[Discovery]:
    """What the gateway adds about one device: its supervision, and for a serial device with a
    battery, the battery (a Zigbee device's battery is already there through Zigbee2MQTT)."""
    topics = StateTopics(gateway_id)
    state_topic = topics.device(device.device_id)
    block = device_block(gateway_id, device, ieee=ieee, room=room)
    gateway_up = _available_while(topics.status)
    entities = [
        _entity(
            prefix,
            "binary_sensor",
            object_id(gateway_id, device.device_id, "supervision"),
            block,
            [gateway_up],
            name="Gateway supervision",
            state_topic=state_topic,
            device_class="connectivity",
            entity_category="diagnostic",
            json_attributes_topic=state_topic,
            value_template=(
                "{% if value_json.state == 'ok' %}ON"
                "{% elif value_json.state == 'offline' %}OFF{% else %}None{% endif %}"
            ),
        )
    ]
    kind = REGISTRY.get(device.device_kind) if device.device_kind in REGISTRY else None
    if device.transport == "serial" and kind is not None and kind.capability(Battery):
        device_up = _available_while(state_topic) | {
            "value_template": "{{ 'offline' if value_json.state == 'offline' else 'online' }}"
        }
        entities.append(
            _entity(
                prefix,
                "sensor",
                object_id(gateway_id, device.device_id, "battery"),
                block,
                [gateway_up, device_up],
                name="Battery",
                state_topic=state_topic,
                device_class="battery",
                unit_of_measurement="%",
                state_class="measurement",
                entity_category="diagnostic",
                value_template="{{ value_json.battery }}",
            )
        )
    return entities


def all_entities(
    prefix: str,
    gateway_id: str,
    devices: dict[str, DeviceRef],
    *,
    ieee: dict[str, str],
    rooms: dict[str, str],
) -> list[Discovery]:
    """Every discovery message of one gateway, for its configured devices."""
    found = gateway_entities(prefix, gateway_id)
    for device_id, device in sorted(devices.items()):
        found += device_entities(
            prefix, gateway_id, device, ieee=ieee.get(device_id), room=rooms.get(device_id)
        )
    return found
