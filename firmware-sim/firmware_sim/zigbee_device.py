"""A simulated Zigbee device as Zigbee2MQTT shows it: held state, republished whole.

Zigbee2MQTT publishes ``<base>/<friendly_name>`` with every property it knows, whatever
changed, and a retained ``<base>/<friendly_name>/availability``. :class:`ZigbeeDevice` keeps
that state, publishes it on a change and on the periodic check-in real devices make
(:meth:`tick`), and can go silent (a flat battery, out of radio range) for fault injection.
Time is passed in (``now``), never read here, so scenarios can compress it.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from firmware_sim.zigbee_kinds import (
    LOW_BATTERY_PERCENT,
    ZIGBEE_KINDS,
    Json,
    ZigbeeKind,
    battery_voltage_mv,
)


class StatePublisher(Protocol):
    """Where a device's messages go: a Zigbee2MQTT network, or a recorder in tests."""

    def publish(
        self, friendly_name: str, payload: dict[str, object], *, retain: bool = False
    ) -> None: ...

    def availability(self, friendly_name: str, online: bool) -> None: ...


@dataclass(frozen=True)
class PublishedPress:
    device_id: str
    written_at: float  # wall clock when the payload was handed to the broker connection


class ZigbeeDevice:
    """One paired device of a given kind: its state, availability and check-ins."""

    def __init__(
        self,
        network: StatePublisher,
        friendly_name: str,
        kind: ZigbeeKind | str,
        *,
        room: str = "",
        state: Mapping[str, Json] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.network = network
        self.friendly_name = friendly_name
        self.kind = ZIGBEE_KINDS[kind] if isinstance(kind, str) else kind
        self.room = room
        self.state: dict[str, Json] = self.kind.initial_state()
        unknown = set(state or {}) - self.kind.fields
        if unknown:
            raise ValueError(f"{self.kind.name} has no fields {sorted(unknown)}")
        self.state.update(state or {})
        self.silent = False  # radio dead: nothing goes out, not even check-ins
        self.next_report_at: float | None = None
        self.published = 0
        self._clock = clock
        self._lock = threading.Lock()

    def announce(self, now: float | None = None) -> None:
        """Come online as after pairing: retained availability, then the whole state.

        The first check-in comes after a fraction of the interval fixed by the name: paired at
        different times, real devices do not all report in the same second.
        """
        self.network.availability(self.friendly_name, True)
        now = self._clock() if now is None else now
        self.report(now)
        self.next_report_at = now + round(self.kind.report_interval_s * self._phase())

    def _phase(self) -> float:
        return 0.5 + 0.5 * zlib.crc32(self.friendly_name.encode()) / 2**32

    def report(self, now: float | None = None) -> bool:
        """Publish the whole state (a check-in); schedules the next one. False when silent."""
        now = self._clock() if now is None else now
        self.next_report_at = now + self.kind.report_interval_s
        return self._publish({})

    def tick(self, now: float) -> bool:
        """Check in if one is due at ``now`` (seconds on the caller's clock)."""
        if self.next_report_at is None or now < self.next_report_at:
            return False
        return self.report(now)

    def update(self, changes: Mapping[str, Json]) -> bool:
        """Change some properties and publish the whole state, as the device reports it."""
        unknown = set(changes) - self.kind.fields
        if unknown:
            raise ValueError(f"{self.kind.name} has no fields {sorted(unknown)}")
        with self._lock:
            self.state.update(changes)
        return self._publish({})

    def set_active(self, active: bool) -> bool:
        """Drive the kind's sensor from a neutral event (1 active, 0 inactive)."""
        binary = self.kind.binary
        if binary is None:
            raise ValueError(f"{self.kind.name} is not a binary sensor")
        return self.update(binary.active if active else binary.inactive)

    def set_battery(self, percent: int, *, publish: bool = True) -> bool:
        """A new battery level in whatever fields this kind reports it (%, mV, low flag)."""
        percent = max(0, min(100, percent))
        changes: dict[str, Json] = {}
        if "battery" in self.state:
            changes["battery"] = percent
        if "voltage" in self.state:
            changes["voltage"] = battery_voltage_mv(percent)
        if "battery_low" in self.state:
            changes["battery_low"] = percent < LOW_BATTERY_PERCENT
        if not changes:
            raise ValueError(f"{self.kind.name} is mains powered")
        if not publish:
            with self._lock:
                self.state.update(changes)
            return False
        return self.update(changes)

    def go_offline(self) -> None:
        """What Zigbee2MQTT says once it has given up on the device: retained offline."""
        self.silent = True
        self.network.availability(self.friendly_name, False)

    def payload(self, extra: Mapping[str, Json] | None = None) -> dict[str, object]:
        with self._lock:
            return {**(extra or {}), **self.state}

    def _publish(self, extra: Mapping[str, Json]) -> bool:
        if self.silent:
            return False
        self.network.publish(self.friendly_name, self.payload(extra))
        self.published += 1
        return True


class SosButton(ZigbeeDevice):
    """Tuya TS0215A_sos: ``{"action":"emergency","battery":80,"linkquality":144}``, often
    followed by ``{"action":""}`` (Zigbee2MQTT clearing the action for Home Assistant; not a
    release and not a clear). ``action`` is an event, never part of the held state."""

    model = "TS0215A_sos"

    def __init__(
        self,
        network: StatePublisher,
        friendly_name: str,
        *,
        battery: int = 80,
        linkquality: int = 144,
        room: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            network,
            friendly_name,
            "sos_button",
            room=room,
            state={"battery": battery, "linkquality": linkquality},
            clock=clock,
        )

    @property
    def battery(self) -> int:
        value = self.state["battery"]
        return value if isinstance(value, int) else 0

    def announce(self, now: float | None = None) -> None:
        # Only the availability: a button's state report before any press would be news to
        # nobody, and the existing tests expect the first state message to be a press.
        self.network.availability(self.friendly_name, True)
        now = self._clock() if now is None else now
        self.next_report_at = now + round(self.kind.report_interval_s * self._phase())

    def press(self, *, clear_action: bool = True) -> PublishedPress:
        written_at = self._clock()
        if self._publish({"action": "emergency"}) and clear_action:
            self.network.publish(self.friendly_name, {"action": ""})
        return PublishedPress(self.friendly_name, written_at)


def make_device(
    network: StatePublisher,
    friendly_name: str,
    kind: str,
    *,
    room: str = "",
    clock: Callable[[], float] = time.time,
) -> ZigbeeDevice:
    """A device of any registered kind; the SOS button gets its press."""
    if kind not in ZIGBEE_KINDS:
        raise ValueError(f"unknown Zigbee device kind {kind!r}; known: {sorted(ZIGBEE_KINDS)}")
    special = _WITH_ACTIONS.get(kind)
    if special is not None:
        return special(network, friendly_name, room=room, clock=clock)
    return ZigbeeDevice(network, friendly_name, kind, room=room, clock=clock)


# Kinds whose devices do more than hold state (a press is an event, not a state).
_WITH_ACTIONS: dict[str, Callable[..., ZigbeeDevice]] = {"sos_button": SosButton}
