"""Serial targets: the frame reader on byte streams, and the payload decoders per frame type.

Stream oracle: every byte fed ends in a delivered frame or the dropped-byte count; the reader
never delivers a frame that is not in the stream; and every valid frame planted in the stream
comes out, in order, after whatever garbage precedes it, once the line has gone idle. The one
legitimate loss is a false start marker before it whose claimed frame reaches into it and
happens to carry a matching CRC (:func:`masked`, a 1 in 65,536 chance per false start).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bench.fuzzing.campaign import Case, OracleViolation, Verdict
from bench.fuzzing.corpus import serial_frames
from bench.fuzzing.mutate import INTERESTING_U16, ByteMutator
from edge.errors import FrameError
from edge.serial.framing import HEADER_SIZE, MAX_PAYLOAD, OVERHEAD, START, Frame, FrameReader, crc16
from edge.serial.payloads import FrameType, decode, to_frame

FRAME_REASONS = frozenset({"unknown_type", "bad_length", "bad_value"})
_SERIAL_TOKENS = (START, START + b"\x10", b"\x00\x02", b"\xff\xff", b"\x01\x02", b"\xa5")


def masked(data: bytes, start: int) -> bool:
    """Whether a CRC-valid false frame that begins before ``start`` reaches into it.

    The reader delivers such a frame (its CRC is right) and so swallows the start of the
    frame at ``start``: the only way a valid frame after garbage may be lost.
    """
    at = data.find(START)
    while 0 <= at < start:
        length = int.from_bytes(data[at + 5 : at + HEADER_SIZE], "little")
        end = at + OVERHEAD + length
        if (
            at + HEADER_SIZE <= len(data)
            and length <= MAX_PAYLOAD
            and start < end <= len(data)
            and crc16(data[at + 2 : end - 2]) == int.from_bytes(data[end - 2 : end], "little")
        ):
            return True
        at = data.find(START, at + 1)
    return False


class FrameStreamTarget:
    """Byte streams of garbage, damaged frames and planted valid frames, read in random
    chunks with the line going idle between pieces, as the serial driver reads them."""

    name = "serial.frames"

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._encoded = [f.encode() for f in serial_frames()]
        self._bytes = ByteMutator(rng, _SERIAL_TOKENS)
        self._damage: tuple[Callable[[bytes], bytes], ...] = (
            self._bytes.mutate,
            self._bytes.mutate,
            self._truncated,
            lambda frame: frame + frame,
            self._length_lie,
            self._crc_right_payload_wrong,
            self._wrong_crc,
            lambda _: START + self._rng.randbytes(self._rng.randint(0, 12)),
        )

    def generate(self) -> Case:
        rng = self._rng
        if rng.random() < 0.1:
            data = self._bytes.random_bytes(600)
            return Case(data, cuts=self._cuts(len(data)))
        data = b""
        planted: list[tuple[int, int]] = []
        idle: list[int] = []
        for _ in range(rng.randint(1, 6)):
            roll = rng.random()
            if roll < 0.3:
                piece = rng.choice(self._encoded)
                planted.append((len(data), len(data) + len(piece)))
            elif roll < 0.45:
                piece = self._bytes.random_bytes(40)
            else:
                piece = rng.choice(self._damage)(rng.choice(self._encoded))
            data += piece
            if rng.random() < 0.3:
                idle.append(len(data))
        return Case(data, cuts=self._cuts(len(data)), idle=tuple(idle), planted=tuple(planted))

    def check(self, case: Case) -> Verdict:
        data = case.data
        reader = FrameReader()
        got: list[Frame] = []
        fed = 0
        for end in sorted({*case.cuts, *case.idle, len(data)}):
            got += reader.feed(data[fed:end])
            fed = end
            if end in case.idle:
                got += reader.abandon_partial()
            _check_accounting(reader, got, fed)
        for _ in range(reader.pending_bytes + 1):  # the line stays idle: drain
            if not reader.pending_bytes:
                break
            got += reader.abandon_partial()
        _check_accounting(reader, got, len(data))
        if reader.pending_bytes or reader.frames_decoded != len(got):
            raise OracleViolation("bytes still pending after the line went idle")
        invented = [f for f in got if f.encode() not in data]
        if invented:
            raise OracleViolation(f"frames not in the stream: {invented[:2]}")
        masked_count = _check_planted(data, case.planted, got)
        errors = (("crc", reader.crc_errors), ("oversize", reader.oversize_errors))
        reasons = tuple(name for name, n in errors for _ in range(n))
        if reader.dropped_bytes and not reasons:
            reasons = ("garbage",)
        return Verdict(
            accepted=not reader.dropped_bytes,
            reasons=reasons,
            notes=(
                ("frames", len(got)),
                ("planted_recovered", len(case.planted) - masked_count),
                ("planted_masked", masked_count),
                ("dropped_bytes", reader.dropped_bytes),
            ),
        )

    def _cuts(self, size: int) -> tuple[int, ...]:
        if self._rng.random() < 0.05:
            return tuple(range(1, size))  # byte by byte
        return tuple(self._rng.randint(0, size) for _ in range(self._rng.randint(0, 6)))

    def _truncated(self, frame: bytes) -> bytes:
        return frame[: self._rng.randint(1, len(frame) - 1)]

    def _length_lie(self, frame: bytes) -> bytes:
        lie = self._rng.choice((*INTERESTING_U16, len(frame) - OVERHEAD + self._rng.randint(-3, 3)))
        return frame[:5] + (lie & 0xFFFF).to_bytes(2, "little") + frame[HEADER_SIZE:]

    def _crc_right_payload_wrong(self, frame: bytes) -> bytes:
        ftype, seq = frame[2], int.from_bytes(frame[3:5], "little")
        payload = self._bytes.mutate(frame[HEADER_SIZE:-2])[:MAX_PAYLOAD]
        return Frame(ftype, seq, payload).encode()

    def _wrong_crc(self, frame: bytes) -> bytes:
        return frame[:-2] + bytes([frame[-2] ^ 0xFF, frame[-1]])


def _check_accounting(reader: FrameReader, got: list[Frame], fed: int) -> None:
    in_frames = sum(len(f.payload) + OVERHEAD for f in got)
    if in_frames + reader.dropped_bytes + reader.pending_bytes != fed:
        raise OracleViolation(
            f"{fed} bytes fed, {in_frames} in frames, {reader.dropped_bytes} dropped, "
            f"{reader.pending_bytes} pending"
        )


def _check_planted(data: bytes, planted: tuple[tuple[int, int], ...], got: list[Frame]) -> int:
    """Every planted frame came out in order, unless :func:`masked`; returns how many were."""
    remaining = iter(got)
    masked_count = 0
    for start, end in planted:
        expected = FrameReader().feed(data[start:end])
        if masked(data, start):
            masked_count += 1
            continue
        if not any(f == expected[0] for f in remaining):
            raise OracleViolation(f"valid frame at bytes {start}..{end} was not recovered")
    return masked_count


class PayloadTarget:
    """Intact frames (the CRC was right) of every type with damaged payloads, and of types
    the payload was not written for, through :func:`edge.serial.payloads.decode`."""

    name = "serial.payloads"

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._frames = serial_frames()
        self._bytes = ByteMutator(rng, _SERIAL_TOKENS)
        self._types = [int(t) for t in FrameType]

    def generate(self) -> Case:
        rng = self._rng
        frame = rng.choice(self._frames)
        ftype, payload = frame.type, frame.payload
        roll = rng.random()
        if roll < 0.1:
            ftype, payload = rng.randrange(256), self._bytes.random_bytes(80)
        elif roll < 0.25:
            ftype = rng.choice(self._types)
        elif roll < 0.9:
            payload = self._bytes.mutate(payload)
        return Case(payload[:MAX_PAYLOAD], ftype=ftype)

    def check(self, case: Case) -> Verdict:
        frame = Frame(case.ftype, 7, case.data)
        kind = FrameType(case.ftype).name if case.ftype in self._types else "other"
        try:
            payload = decode(frame)
        except FrameError as err:
            if err.reason not in FRAME_REASONS:
                raise OracleViolation(f"undocumented reason {err.reason!r}") from err
            return Verdict(False, (err.reason,), ((f"{kind}:{err.reason}", 1),))
        again = to_frame(payload, 7)
        if again.type != case.ftype or decode(again) != payload:
            raise OracleViolation(f"{payload!r} does not survive encoding")
        return Verdict(True, notes=((f"{kind}:ok", 1),))
