"""MQTT targets: Zigbee2MQTT messages through the bridge, and wire messages through the codec.

Both start from real payloads (``corpus``) and damage them as JSON trees (wrong types, huge
numbers, NaN, nested junk, boundary date-times, missing and unknown keys) or as bytes, on the
right topic mostly and on wrong or mangled topics sometimes. Their documented errors are
:class:`edge.errors.PayloadError` and :class:`protocol.errors.MessageRejected`; anything else
escaping is a crash.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC

from bench.fuzzing.campaign import Case, OracleViolation, Verdict
from bench.fuzzing.corpus import (
    GATEWAY_ID,
    Z2M_AVAILABILITY,
    Z2M_BRIDGE_TOPICS,
    Z2M_PAYLOADS,
    vocabulary,
    wire_examples,
    z2m_topic_names,
)
from bench.fuzzing.mutate import JSON_TOKENS, ByteMutator, JsonMutator
from edge.errors import PayloadError
from edge.events import BatteryReported, DeviceRef, EdgeEvent, KeyPressed, SensorChanged
from edge.zigbee2mqtt.bridge import Zigbee2MqttBridge
from edge.zigbee2mqtt.converters import CONVERTERS
from protocol import MessageRejected, decode_downlink, decode_uplink, encode, parse_topic
from protocol.messages import DownlinkMessage, UplinkMessage
from protocol.mqtt import BrokerEndpoint

_REASON = re.compile(r"[a-z][a-z0-9_]*")
# The bridge's per-device flood gates run on the real clock, and the fuzz sends tens of
# thousands of messages a second: a fresh bridge this often keeps them open, so payloads are
# decoded and their events checked instead of being dropped as a flood.
REBUILD_EVERY = 1_000
_WIRE_TOKENS = (*JSON_TOKENS, b'"v":1,', b'"type":"alarm",', b'"gateway_id":"gw-fuzz",')
_TOPIC_JUNK = ("", "/", "#", "+", "\x00", "é", "//", "/set", "/availability", "bridge/", " ")


class _Payloads:
    """Damaged copies of a set of JSON payload examples (plus pure random ones)."""

    def __init__(self, rng: random.Random, texts: list[str]) -> None:
        self._rng = rng
        keys, scalars = vocabulary(texts)
        self.json = JsonMutator(rng, keys, scalars)
        self.bytes = ByteMutator(rng, _WIRE_TOKENS)

    def damage(self, payload: bytes) -> bytes:
        roll = self._rng.random()
        if roll < 0.55:
            text = self.json.mutate(json.loads(payload))
            return text.encode("utf-8", "surrogatepass")
        if roll < 0.7:
            return self.bytes.mutate(payload)
        if roll < 0.78:
            return self.bytes.mutate(self.json.mutate(json.loads(payload)).encode())
        if roll < 0.86:
            return payload
        if roll < 0.93:
            return json.dumps(self.json.random_value(), allow_nan=True).encode()
        return self.bytes.random_bytes(120)

    def mangle_topic(self, topic: str) -> str:
        at = self._rng.randint(0, len(topic))
        cut = self._rng.randint(at, len(topic))
        return topic[:at] + self._rng.choice(_TOPIC_JUNK) + topic[cut:]


class Zigbee2MqttTarget:
    """Messages on a home's Zigbee2MQTT broker, through :meth:`Zigbee2MqttBridge.handle`,
    with one configured device of every registered converter kind."""

    name = "z2m.bridge"

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        kinds = sorted(CONVERTERS)
        self._names = list(z2m_topic_names(kinds).items())
        self._events: list[EdgeEvent] = []
        self._bridge = self._new_bridge()
        self._handled = 0
        self._all = [p.encode() for texts in Z2M_PAYLOADS.values() for p in texts]
        self._payloads = _Payloads(rng, [p.decode() for p in self._all])

    def _new_bridge(self) -> Zigbee2MqttBridge:
        devices = {
            name: DeviceRef(f"dev-{kind}", kind, "zigbee2mqtt") for kind, name in self._names
        }
        return Zigbee2MqttBridge(
            BrokerEndpoint("127.0.0.1", 1, "fuzz", "fuzz"),
            devices,
            self._events.append,
            client_id="fuzz",
            clock=lambda: 1_700_000_000.0,
        )

    def generate(self) -> Case:
        rng = self._rng
        kind, name = rng.choice(self._names)
        roll = rng.random()
        if roll < 0.8:
            topic = f"zigbee2mqtt/{name}"
            own = Z2M_PAYLOADS.get(kind, ())
            seed = rng.choice(own).encode() if own and rng.random() < 0.7 else rng.choice(self._all)
        elif roll < 0.9:
            topic, seed = f"zigbee2mqtt/{name}/availability", rng.choice(Z2M_AVAILABILITY)
        elif roll < 0.95:
            topic = f"zigbee2mqtt/{rng.choice(Z2M_BRIDGE_TOPICS)}"
            seed = rng.choice(Z2M_AVAILABILITY)
        else:
            topic = self._payloads.mangle_topic(f"zigbee2mqtt/{name}")
            seed = rng.choice(self._all)
        payload = self._payloads.damage(seed) if seed.startswith(b"{") else seed
        if not seed.startswith(b"{") and rng.random() < 0.5:
            payload = self._payloads.bytes.mutate(seed)
        return Case(payload, topic=topic, retained=rng.random() < 0.1)

    def check(self, case: Case) -> Verdict:
        self._handled += 1
        if self._handled % REBUILD_EVERY == 0:
            self._bridge = self._new_bridge()
        self._events.clear()
        self._bridge.rejected.clear()
        try:
            self._bridge.handle(case.topic, case.data, retained=case.retained)
        except PayloadError as err:
            if not _REASON.fullmatch(err.reason):
                raise OracleViolation(f"reason {err.reason!r} is not a reason code") from err
            if self._events:
                raise OracleViolation(f"a refused payload emitted {self._events}") from err
            return Verdict(False, (err.reason,))
        for event in self._events:
            _check_event(event, case.retained)
        problems = tuple(self._bridge.rejected.items())
        if problems and not self._events:  # nothing usable came out: a rejection
            return Verdict(False, tuple(r for r, n in problems for _ in range(n)))
        return Verdict(True, notes=tuple((f"part:{r}", n) for r, n in problems))


def _check_event(event: EdgeEvent, retained: bool) -> None:
    """What the gateway relies on: a battery level is a whole percentage (or None, from a
    device that reports only a flag), sensor values 0 or 1, and a retained (old) state never
    becomes a press."""
    battery = event.battery_percent if isinstance(event, BatteryReported | KeyPressed) else None
    if battery is not None and (type(battery) is not int or not 0 <= battery <= 100):
        raise OracleViolation(f"battery {battery!r}")
    if isinstance(event, SensorChanged) and event.value not in (0, 1):
        raise OracleViolation(f"sensor value {event.value!r}")
    if isinstance(event, KeyPressed) and retained:
        raise OracleViolation("a retained state became a key press")


class CodecTarget:
    """Wire messages of every type, damaged, through ``decode_uplink``/``decode_downlink``
    (chosen by the topic's direction, as the server and the gateway do)."""

    name = "protocol.codec"

    def __init__(self, rng: random.Random, *, uplink_only: bool = False) -> None:
        self._rng = rng
        self._examples = [(t, p) for t, p in wire_examples() if not (uplink_only and "/down/" in t)]
        self._topics = sorted({t for t, _ in self._examples})
        self._payloads = _Payloads(rng, [p.decode() for _, p in self._examples])

    def generate(self) -> Case:
        rng = self._rng
        topic, payload = rng.choice(self._examples)
        roll = rng.random()
        if roll < 0.08:
            topic = rng.choice(self._topics)
        elif roll < 0.12:
            topic = topic.replace(GATEWAY_ID, rng.choice(("gw-other", "server", "a" * 64)))
        elif roll < 0.16:
            topic = self._payloads.mangle_topic(topic)
        return Case(self._payloads.damage(payload), topic=topic)

    def check(self, case: Case) -> Verdict:
        down = "/down/" in case.topic
        try:
            if down:
                message: UplinkMessage | DownlinkMessage = decode_downlink(case.topic, case.data)
            else:
                message = decode_uplink(case.topic, case.data)
        except MessageRejected as err:
            return Verdict(False, (err.reason.value,))
        name = parse_topic(case.topic)
        if (message.type, message.gateway_id) != (name.channel.value, name.gateway_id):
            raise OracleViolation(f"a {message.type} of {message.gateway_id} on {case.topic}")
        again = (decode_downlink if down else decode_uplink)(case.topic, encode(message))
        if again != message:
            raise OracleViolation(f"{message!r} does not survive encoding")
        for when in (message.gateway_time, message.device_time):
            if when is None:
                continue
            try:
                when.astimezone(UTC)  # what the store does with every time
            except OverflowError as err:
                raise OracleViolation(f"time {when} has no UTC equivalent to store") from err
        return Verdict(True)
