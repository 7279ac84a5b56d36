"""What a device kind is: a name, the capability pieces it is built from, its transports, the
hardware models that identify it, and recorded messages it must decode (its conformance data).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from edge.devices.capabilities import Capability, Decoded, Problem
from edge.errors import PayloadError
from edge.events import BatteryReported, DeviceRef, KeyPressed, Transport
from edge.serial.payloads import FrameType

TRANSPORTS: tuple[Transport, ...] = ("serial", "zigbee2mqtt")
C = TypeVar("C", bound=Capability)


@dataclass(frozen=True)
class Fingerprint:
    """How a device of this kind identifies itself: Zigbee2MQTT's ``definition.model`` (as in
    ``zigbee2mqtt/bridge/devices``). Two kinds never share one, so discovery is unambiguous."""

    transport: Transport
    model: str


Expected = tuple[object, ...]


@dataclass(frozen=True)
class Example:
    """A recorded message and what it must decode to, in the compact form of
    :func:`edge.devices.conformance.summary`. ``message`` is a Zigbee2MQTT state object, or for
    serial the frame type and payload bytes."""

    transport: Transport
    message: Mapping[str, Any] | tuple[FrameType, bytes]
    expect: tuple[Expected, ...]
    note: str = ""


@dataclass(frozen=True)
class DeviceKind:
    """A device kind as data. ``heartbeat_s`` is the longest the device may stay quiet on each
    of its transports before it counts as missed; two missed intervals is "device offline"."""

    name: str
    title: str
    capabilities: tuple[Capability, ...]
    heartbeat_s: Mapping[Transport, float]
    fingerprints: tuple[Fingerprint, ...] = ()
    examples: tuple[Example, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.heartbeat_s:
            raise ValueError(f"{self.name}: a kind needs at least one transport")
        for transport, interval in self.heartbeat_s.items():
            if transport not in TRANSPORTS:
                raise ValueError(f"{self.name}: unknown transport {transport!r}")
            if not 1 <= interval <= 86_400:
                raise ValueError(f"{self.name}: heartbeat {interval} s outside 1 s .. 1 day")
        for print_ in self.fingerprints:
            if print_.transport not in self.heartbeat_s:
                raise ValueError(f"{self.name}: fingerprint on a transport it does not have")

    @property
    def transports(self) -> tuple[Transport, ...]:
        return tuple(t for t in TRANSPORTS if t in self.heartbeat_s)

    def capability(self, piece: type[C]) -> C | None:
        """The kind's piece of that type, if it has one."""
        return next((c for c in self.capabilities if isinstance(c, piece)), None)

    @property
    def serial_frames(self) -> frozenset[FrameType]:
        """The frame types a device of this kind may send; anything else is refused."""
        frames = {f for c in self.capabilities for f in c.serial_frames}
        return frozenset(frames | {FrameType.HEARTBEAT})

    def decode_z2m(self, device: DeviceRef, state: Mapping[str, Any], now: float) -> list[Decoded]:
        """One Zigbee2MQTT state message as events, presses first.

        A press carries the battery level reported with it (the centre shows it with the
        alarm). Raises :class:`PayloadError` only when the message as a whole is unusable.
        """
        if "zigbee2mqtt" not in self.heartbeat_s:
            raise PayloadError("wrong_transport", f"{self.name} has no Zigbee2MQTT form")
        decoded: list[Decoded] = []
        for capability in self.capabilities:
            decoded += capability.decode_z2m(device, state, now)
        battery = next((d.battery_percent for d in decoded if isinstance(d, BatteryReported)), None)
        presses: list[Decoded] = [
            KeyPressed(d.device, d.key, d.received_at, d.occurred_at, battery_percent=battery)
            for d in decoded
            if isinstance(d, KeyPressed)
        ]
        rest = [d for d in decoded if not isinstance(d, KeyPressed)]
        return presses + rest

    def describe(self) -> str:
        """One line for ``python -m edge.devices``."""
        pieces = ",".join(dict.fromkeys(c.label() for c in self.capabilities))
        models = ",".join(p.model for p in self.fingerprints) or "-"
        beats = ",".join(f"{t}:{_duration(s)}" for t, s in self.heartbeat_s.items())
        return (
            f"{self.name:<18} transports={','.join(self.transports):<19} "
            f"capabilities={pieces} heartbeat={beats} models={models}"
        )


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}min"
    return f"{seconds:g}s"


__all__ = [
    "TRANSPORTS",
    "DeviceKind",
    "Example",
    "Fingerprint",
    "Problem",
]
