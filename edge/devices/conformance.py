"""Decode a definition's recorded examples the way the drivers do, in a compact comparable form.

The conformance suite (tests/edge/devices) runs every example of every registered kind
through here; so can an installer checking a new device's payloads.
"""

from __future__ import annotations

from collections.abc import Mapping

from edge.devices.capabilities import Decoded, Problem
from edge.devices.kinds import DeviceKind, Example, Expected
from edge.errors import FrameError, PayloadError
from edge.events import (
    AvailabilityChanged,
    BatteryReported,
    DeviceRef,
    FallReported,
    HazardReported,
    KeyPressed,
    SamplesReceived,
    SensorChanged,
    SignalReceived,
)
from edge.serial.framing import Frame
from edge.serial.reading import frame_events

EXAMPLE_TIME = 1_700_000_000.0


def summary(item: Decoded) -> Expected:
    """An event in the compact form the definitions' examples are written in."""
    match item:
        case KeyPressed(device=device, key=key, battery_percent=battery):
            if device.transport == "serial":
                return ("key", key.value)
            return ("key", key.value, battery)
        case BatteryReported(battery_percent=percent, battery_low=low):
            return ("battery", percent, low)
        case SensorChanged(kind=kind, value=value):
            return ("sensor", kind, value)
        case FallReported(certain=certain, cleared=cleared):
            return ("fall", certain, cleared)
        case HazardReported(hazard=hazard, active=active):
            return ("hazard", hazard, active)
        case SamplesReceived(t_s=t_s):
            return ("samples", len(t_s), round(t_s[0], 6), round(t_s[-1], 6))
        case SignalReceived(signal=signal, rate_hz=rate, values=values):
            return ("signal", signal, rate, len(values), round(values[0], 6))
        case AvailabilityChanged(online=online):
            return ("available", online)
        case Problem(reason=reason):
            return ("problem", reason)
    raise TypeError(f"no summary for {item!r}")


def decode_example(kind: DeviceKind, example: Example, device_id: str = "dev-1") -> list[Expected]:
    """What the kind's driver makes of the example; a refused message is ``("error", reason)``."""
    device = DeviceRef(device_id, kind.name, example.transport)
    try:
        if isinstance(example.message, Mapping):
            decoded: list[Decoded] = kind.decode_z2m(device, example.message, EXAMPLE_TIME)
        else:
            frame_type, payload = example.message
            frame = Frame(frame_type, 1, payload)
            decoded = list(frame_events(kind, device, frame, EXAMPLE_TIME))
    except (FrameError, PayloadError) as err:
        return [("error", err.reason)]
    return [summary(item) for item in decoded]
