"""Typed payloads of serial device protocol v1: pure bytes <-> values, no I/O.

Device -> host frames carry what happened; host -> device frames carry the centre's answer.
Layouts are little-endian and written beside each type.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from edge.errors import FrameError
from edge.serial.framing import MAX_PAYLOAD, Frame


class FrameType(IntEnum):
    KEY_PRESS = 0x10  # device -> host
    HEARTBEAT = 0x11  # device -> host
    SAMPLES = 0x12  # device -> host
    SIGNAL = 0x13  # device -> host
    ACK = 0x81  # host -> device
    INDICATE = 0x82  # host -> device


class KeyKind(IntEnum):
    """The three keys of a one-key call button (some models have only EMERGENCY)."""

    EMERGENCY = 1
    SERVICE = 2
    FAMILY = 3


class AckStage(IntEnum):
    """How far the alarm has travelled; the device shows it on its LED.

    A device retransmits a key press until it sees RECEIVED. Only HELP_COMING means a person
    at the centre has taken the alarm (social-alarm practice: handled only on an explicit OK).
    """

    RECEIVED = 1  # the gateway stored it durably
    AT_CENTRE = 2  # the centre stored it
    HELP_COMING = 3  # an operator acknowledged it


class Pattern(IntEnum):
    """LED and buzzer patterns of an INDICATE frame (the same codes for both)."""

    OFF = 0
    PROMPT = 1  # "are you all right?": press the key to cancel a possible fall
    ALARM_SENT = 2
    HELP_COMING = 3
    NOT_DELIVERED = 4


class SensorKind(IntEnum):
    ACCELEROMETER = 1  # milli-g per axis


class SignalKind(IntEnum):
    """One-channel signals sampled at a fixed rate (SIGNAL frames)."""

    BED_PRESSURE = 1  # under-mattress pressure/BCG, micro-units (lying resident ~1e6)


@dataclass(frozen=True, slots=True)
class KeyPress:
    """``<B key><I age_ms>``: age is how long ago the press happened (grows on retransmit)."""

    key: KeyKind
    age_ms: int
    _layout = struct.Struct("<BI")

    def to_bytes(self) -> bytes:
        return self._layout.pack(self.key, self.age_ms)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """``<B battery_percent><B flags><I uptime_s>``; flags bit 0 mains, bit 1 battery low."""

    battery_percent: int
    mains_powered: bool
    battery_low: bool
    uptime_s: int
    _layout = struct.Struct("<BBI")

    def to_bytes(self) -> bytes:
        flags = int(self.mains_powered) | int(self.battery_low) << 1
        return self._layout.pack(self.battery_percent, flags, self.uptime_s)


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """``<B sensor><I t0_ms><H n>`` then n x ``<H dt_100us><h x><h y><h z>``.

    ``t0_ms`` is the device uptime at the first sample; each ``dt`` is the spacing to the
    previous sample in units of 100 microseconds (the first is 0), so irregular sampling is
    carried as it happened. Values are milli-g.
    """

    sensor: SensorKind
    t0_ms: int
    dt_100us: tuple[int, ...]
    values: tuple[tuple[int, int, int], ...]
    _head = struct.Struct("<BIH")
    _sample = struct.Struct("<Hhhh")

    MAX_SAMPLES = (MAX_PAYLOAD - 7) // 8

    def to_bytes(self) -> bytes:
        if len(self.dt_100us) != len(self.values):
            raise ValueError("one dt per sample")
        parts = [self._head.pack(self.sensor, self.t0_ms, len(self.values))]
        parts += [
            self._sample.pack(dt, *v) for dt, v in zip(self.dt_100us, self.values, strict=True)
        ]
        return b"".join(parts)


@dataclass(frozen=True, slots=True)
class SignalBlock:
    """``<B signal><I t0_ms><H rate_hz><H n>`` then n x ``<i value>``.

    A one-channel signal on a fixed grid: sample ``i`` is at ``t0_ms / 1000 + i / rate_hz``
    seconds of device uptime. Values are signed 32-bit in micro-units of the sensor's scale:
    a bed's heartbeat (BCG) is a thousandth of the resident's static pressure, far below what
    the milli-units of SAMPLES could carry next to it.
    """

    signal: SignalKind
    t0_ms: int
    rate_hz: int
    values: tuple[int, ...]
    _head = struct.Struct("<BIHH")
    _value = struct.Struct("<i")

    MAX_VALUES = (MAX_PAYLOAD - 9) // 4

    def to_bytes(self) -> bytes:
        head = self._head.pack(self.signal, self.t0_ms, self.rate_hz, len(self.values))
        return head + struct.pack(f"<{len(self.values)}i", *self.values)


@dataclass(frozen=True, slots=True)
class Ack:
    """``<H ref_seq><B stage>``: the host's answer to the device frame ``ref_seq``."""

    ref_seq: int
    stage: AckStage
    _layout = struct.Struct("<HB")

    def to_bytes(self) -> bytes:
        return self._layout.pack(self.ref_seq, self.stage)


@dataclass(frozen=True, slots=True)
class Indicate:
    """``<B led><B buzzer><H duration_s>``: drive the LED and buzzer (patterns in the doc)."""

    led: int
    buzzer: int
    duration_s: int
    _layout = struct.Struct("<BBH")

    def to_bytes(self) -> bytes:
        return self._layout.pack(self.led, self.buzzer, self.duration_s)


Payload = KeyPress | Heartbeat | SampleBatch | SignalBlock | Ack | Indicate

_TYPE_OF: dict[type, FrameType] = {
    KeyPress: FrameType.KEY_PRESS,
    Heartbeat: FrameType.HEARTBEAT,
    SampleBatch: FrameType.SAMPLES,
    SignalBlock: FrameType.SIGNAL,
    Ack: FrameType.ACK,
    Indicate: FrameType.INDICATE,
}


def to_frame(payload: Payload, seq: int) -> Frame:
    return Frame(_TYPE_OF[type(payload)], seq, payload.to_bytes())


def decode(frame: Frame) -> Payload:
    """Decode an intact frame's payload; :class:`FrameError` names what is wrong."""
    try:
        ftype = FrameType(frame.type)
    except ValueError as err:
        raise FrameError("unknown_type", f"frame type 0x{frame.type:02x}") from err
    data = frame.payload
    try:
        return _DECODERS[ftype](data)
    except struct.error as err:
        raise FrameError("bad_length", f"{ftype.name} payload of {len(data)} bytes") from err
    except ValueError as err:
        raise FrameError("bad_value", f"{ftype.name}: {err}") from err


def _exact(layout: struct.Struct, data: bytes) -> tuple[int, ...]:
    if len(data) != layout.size:
        raise struct.error(f"expected {layout.size} bytes")
    return layout.unpack(data)


def _key_press(data: bytes) -> KeyPress:
    key, age = _exact(KeyPress._layout, data)
    return KeyPress(KeyKind(key), age)


def _heartbeat(data: bytes) -> Heartbeat:
    battery, flags, uptime = _exact(Heartbeat._layout, data)
    if battery > 100:
        raise ValueError(f"battery {battery} % above 100")
    return Heartbeat(battery, bool(flags & 1), bool(flags & 2), uptime)


def _samples(data: bytes) -> SampleBatch:
    head, sample = SampleBatch._head, SampleBatch._sample
    sensor, t0, count = head.unpack_from(data)
    if len(data) != head.size + count * sample.size:
        raise struct.error("sample count does not match the payload length")
    rows = [sample.unpack_from(data, head.size + i * sample.size) for i in range(count)]
    return SampleBatch(
        SensorKind(sensor),
        t0,
        tuple(r[0] for r in rows),
        tuple((r[1], r[2], r[3]) for r in rows),
    )


def _signal(data: bytes) -> SignalBlock:
    head = SignalBlock._head
    kind, t0, rate, count = head.unpack_from(data)
    if len(data) != head.size + 4 * count:
        raise struct.error("value count does not match the payload length")
    if rate == 0:
        raise ValueError("a signal rate of 0 Hz")
    values = struct.unpack_from(f"<{count}i", data, head.size)
    return SignalBlock(SignalKind(kind), t0, rate, values)


def _ack(data: bytes) -> Ack:
    ref, stage = _exact(Ack._layout, data)
    return Ack(ref, AckStage(stage))


def _indicate(data: bytes) -> Indicate:
    return Indicate(*_exact(Indicate._layout, data))


_DECODERS: dict[FrameType, Callable[[bytes], Payload]] = {
    FrameType.KEY_PRESS: _key_press,
    FrameType.HEARTBEAT: _heartbeat,
    FrameType.SAMPLES: _samples,
    FrameType.SIGNAL: _signal,
    FrameType.ACK: _ack,
    FrameType.INDICATE: _indicate,
}
