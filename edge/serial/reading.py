"""What one serial frame from a device means, given the device's kind: pure, no I/O.

The kind's definition (``edge.devices``) says which frames and keys the device has; anything
else is refused with a reason, so a babbling or misconfigured device is counted, not obeyed.
"""

from __future__ import annotations

import numpy as np

from edge.devices.capabilities import Keys, Samples, Signal
from edge.devices.kinds import DeviceKind
from edge.errors import FrameError
from edge.events import (
    BatteryReported,
    DeviceRef,
    EdgeEvent,
    Key,
    KeyPressed,
    SamplesReceived,
    SignalReceived,
)
from edge.serial.framing import Frame
from edge.serial.payloads import (
    FrameType,
    Heartbeat,
    KeyKind,
    KeyPress,
    SampleBatch,
    SensorKind,
    SignalBlock,
    SignalKind,
    decode,
)

_KEYS = {KeyKind.EMERGENCY: Key.EMERGENCY, KeyKind.SERVICE: Key.SERVICE, KeyKind.FAMILY: Key.FAMILY}
_SIGNALS = {SensorKind.ACCELEROMETER: "acceleration"}
_ONE_CHANNEL = {SignalKind.BED_PRESSURE: "bed_pressure"}
MICRO = 1e-6


def frame_events(kind: DeviceKind, device: DeviceRef, frame: Frame, now: float) -> list[EdgeEvent]:
    """The events an intact frame carries; :class:`FrameError` names what is wrong with it."""
    try:
        frame_type = FrameType(frame.type)
    except ValueError as err:
        raise FrameError("unknown_type", f"frame type 0x{frame.type:02x}") from err
    if frame_type not in kind.serial_frames:
        raise FrameError("unexpected_frame", f"{kind.name} does not send {frame_type.name} frames")
    payload = decode(frame)
    if isinstance(payload, KeyPress):
        key = _KEYS[payload.key]
        keys = kind.capability(Keys)
        if keys is None or key not in keys.keys:
            raise FrameError("unexpected_key", f"{kind.name} has no {key.value} key")
        return [
            KeyPressed(
                device,
                key,
                received_at=now,
                occurred_at=now - payload.age_ms / 1000,
                frame_seq=frame.seq,
            )
        ]
    if isinstance(payload, Heartbeat):
        return [BatteryReported(device, now, payload.battery_percent, payload.battery_low)]
    if isinstance(payload, SampleBatch):
        samples = kind.capability(Samples)
        if samples is None or _SIGNALS.get(payload.sensor) != samples.signal:
            raise FrameError("unexpected_sensor", f"{kind.name} has no {payload.sensor.name}")
        return [_samples(device, payload, now)]
    if isinstance(payload, SignalBlock):
        wanted = kind.capability(Signal)
        name = _ONE_CHANNEL[payload.signal]
        if wanted is None or wanted.signal != name:
            raise FrameError("unexpected_sensor", f"{kind.name} has no {name} signal")
        values = tuple(v * MICRO for v in payload.values)
        t0_s = payload.t0_ms / 1000
        return [SignalReceived(device, now, name, t0_s, float(payload.rate_hz), values)]
    raise FrameError("unexpected_frame", f"{type(payload).__name__} is host-to-device")


def _samples(device: DeviceRef, batch: SampleBatch, now: float) -> SamplesReceived:
    """Device time of each sample: ``t0_ms`` plus the running sum of the 100 us steps."""
    offsets = np.cumsum(np.asarray(batch.dt_100us, dtype=np.int64)) / 10_000
    t_s = batch.t0_ms / 1000 + offsets
    acc = np.asarray(batch.values, dtype=np.float64) / 1000  # milli-g -> g
    return SamplesReceived(
        device, now, tuple(t_s.tolist()), tuple(tuple(row) for row in acc.tolist())
    )
