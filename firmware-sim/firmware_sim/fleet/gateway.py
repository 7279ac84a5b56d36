"""One simulated home gateway speaking wire contract v1, as ``gateway/uplink.py`` does.

What it copies from the real gateway: a retained ``online`` status on connect and every
heartbeat, ``offline`` as its will and on a clean stop; telemetry and device events sent once;
alarms kept in an outbox and resent every ``resend_s`` (±20 % jitter) until the centre's
receipt, and everything pending sent at once, oldest first, on every (re)connect. The outbox
is in memory: a fleet simulates traffic, not power cuts. No I/O here: messages go out
through ``publish``, time comes in as arguments.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from firmware_sim.fleet.ledger import FleetLedger
from protocol import (
    AlarmBody,
    AlarmKind,
    AlarmMessage,
    Channel,
    CommandMessage,
    DownlinkMessage,
    EventBody,
    EventMessage,
    GatewayTopics,
    Origin,
    ReceiptMessage,
    StatusBody,
    StatusMessage,
    TelemetryBody,
    TelemetryMessage,
    encode,
)
from protocol.messages import DEFAULT_PRIORITY

Publish = Callable[[str, bytes, bool], bool]  # topic, payload, retain -> handed to the client

# Where each alarm kind starts in a kit (docs/protocol.md §6.1), for a realistic origin.
ORIGINS: dict[AlarmKind, tuple[str, Origin]] = {
    AlarmKind.EMERGENCY_CALL: (
        "call-button-1",
        Origin(transport="serial", device_kind="call_button"),
    ),
    AlarmKind.SERVICE_REQUEST: (
        "call-button-1",
        Origin(transport="serial", device_kind="call_button"),
    ),
    AlarmKind.FAMILY_CALL: ("call-button-1", Origin(transport="serial", device_kind="call_button")),
    AlarmKind.FALL: ("bathroom-radar", Origin(transport="zigbee2mqtt", device_kind="fall_radar")),
    AlarmKind.DEVICE_SILENT: (
        "call-button-1",
        Origin(transport="gateway", device_kind="call_button"),
    ),
    AlarmKind.LOW_BATTERY: ("bed-mat", Origin(transport="zigbee2mqtt", device_kind="bed_sensor")),
}
DEVICES = ("call-button-1", "sos-button-1", "bed-mat", "hall-pir", "front-door", "bathroom-radar")


@dataclass
class Pending:
    message_id: str
    payload: bytes
    due_at: float  # monotonic


class SimulatedGateway:
    def __init__(
        self,
        gateway_id: str,
        home_id: str,
        ledger: FleetLedger,
        *,
        heartbeat_s: float,
        resend_s: float,
        rng: random.Random,
        clock: Callable[[], float],
    ) -> None:
        self.gateway_id = gateway_id
        self.home_id = home_id
        self.topics = GatewayTopics(gateway_id)
        self.ledger = ledger
        self.heartbeat_s = heartbeat_s
        self.resend_s = resend_s
        self._rng = rng
        self._clock = clock  # wall clock for message times
        self.outbox: dict[str, Pending] = {}  # insertion order = oldest first
        self.publish: Publish = lambda _t, _p, _r: False
        self.connected = False
        self._frame_seq = 0

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def status(self, state: Literal["online", "offline"]) -> bytes:
        return encode(
            StatusMessage(
                gateway_id=self.gateway_id,
                gateway_time=self._now(),
                body=StatusBody(
                    state=state,
                    heartbeat_interval_s=round(self.heartbeat_s),
                    home_id=self.home_id,
                    outbox_depth=len(self.outbox) if state == "online" else 0,
                ),
            )
        )

    def _send(
        self,
        channel: Channel,
        payload: bytes,
        now: float,
        alarm_id: str | None = None,
        *,
        retain: bool = False,
    ) -> bool:
        if not self.connected or not self.publish(self.topics.of(channel), payload, retain):
            return False
        self.ledger.transmitted(channel.value, now, alarm_id)
        return True

    def on_connected(self, now: float) -> None:
        self.connected = True
        self._send(Channel.STATUS, self.status("online"), now, retain=True)
        for pending in self.outbox.values():
            pending.due_at = now
        self.resend_due(now)

    def on_disconnected(self) -> None:
        self.connected = False

    def heartbeat(self, now: float) -> None:
        self._send(Channel.STATUS, self.status("online"), now, retain=True)

    def telemetry(self, now: float) -> None:
        percent = self._rng.randint(20, 100)
        message = TelemetryMessage(
            gateway_id=self.gateway_id,
            device_id=self._rng.choice(DEVICES),
            gateway_time=self._now(),
            body=TelemetryBody(
                measurement="battery", fields={"percent": percent, "low": percent < 25}
            ),
        )
        self._send(Channel.TELEMETRY, encode(message), now)

    def device_event(self, now: float) -> None:
        device = self._rng.choice(DEVICES)
        transport = "serial" if device == "call-button-1" else "zigbee2mqtt"
        message = EventMessage(
            gateway_id=self.gateway_id,
            device_id=device,
            gateway_time=self._now(),
            body=EventBody(
                kind=self._rng.choice(("device_online", "device_offline")),
                detail={"transport": transport},
            ),
        )
        self._send(Channel.EVENT, encode(message), now)

    def raise_alarm(self, kind: AlarmKind, now: float) -> str:
        """A new alarm into the outbox, sent at once; returns its id."""
        device_id, origin = ORIGINS[kind]
        if origin.transport == "serial":
            self._frame_seq = (self._frame_seq + 1) & 0xFFFF
            origin = origin.model_copy(update={"frame_seq": self._frame_seq})
        moment = self._now()
        message = AlarmMessage(
            gateway_id=self.gateway_id,
            device_id=device_id,
            device_time=moment,
            gateway_time=moment,
            body=AlarmBody(
                kind=kind, priority=DEFAULT_PRIORITY[kind], home_id=self.home_id, origin=origin
            ),
        )
        self.ledger.raised(message.id, self.gateway_id, kind.value, now)
        self.outbox[message.id] = Pending(message.id, encode(message), now)
        self.resend_due(now)
        return message.id

    def resend_due(self, now: float) -> float | None:
        """Send every alarm due by ``now``; returns when the next one falls due."""
        for pending in self.outbox.values():
            if pending.due_at <= now:
                if not self._send(Channel.ALARM, pending.payload, now, pending.message_id):
                    break  # disconnected: everything goes again on connect
                pending.due_at = now + self.resend_s * self._rng.uniform(0.8, 1.2)
        return min((p.due_at for p in self.outbox.values()), default=None)

    def on_downlink(self, message: DownlinkMessage, now: float) -> None:
        if isinstance(message, ReceiptMessage):
            self.outbox.pop(message.body.ref_id, None)
            self.ledger.receipt(message.body.ref_id, message.body.duplicate, now)
        elif isinstance(message, CommandMessage):
            self.ledger.command()
