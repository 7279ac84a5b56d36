"""Framing of serial device protocol v1, with resynchronisation after garbage.

Frame layout (all integers little-endian)::

    offset  size  field
    0       2     start marker 0xA5 0x5A
    2       1     frame type
    3       2     sequence number (u16, the sender's own counter; a retransmission repeats it)
    5       2     payload length N (u16, at most MAX_PAYLOAD)
    7       N     payload
    7+N     2     CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over bytes 2 .. 7+N-1

The CRC comes from the standard library's ``binascii.crc_hqx`` (C, maintained with CPython),
rather than a hand-written table.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass

START = b"\xa5\x5a"
MAX_PAYLOAD = 512
_HEADER = struct.Struct("<2sBHH")
_CRC = struct.Struct("<H")
HEADER_SIZE = _HEADER.size  # 7
OVERHEAD = HEADER_SIZE + _CRC.size  # 9


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE of ``data`` (check value of b"123456789" is 0x29B1)."""
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True, slots=True)
class Frame:
    """One intact frame: type, sequence number and raw payload."""

    type: int
    seq: int
    payload: bytes

    def encode(self) -> bytes:
        if not 0 <= self.type <= 0xFF:
            raise ValueError(f"frame type {self.type} out of range")
        if not 0 <= self.seq <= 0xFFFF:
            raise ValueError(f"sequence number {self.seq} out of range")
        if len(self.payload) > MAX_PAYLOAD:
            raise ValueError(f"payload of {len(self.payload)} bytes exceeds {MAX_PAYLOAD}")
        head = _HEADER.pack(START, self.type, self.seq, len(self.payload))
        body = head[2:] + self.payload
        return head[:2] + body + _CRC.pack(crc16(body))


class FrameReader:
    """Incremental decoder: feed it bytes as they arrive, get intact frames back.

    Every byte fed ends up either in a returned frame or counted in :attr:`dropped_bytes`
    (or still waits in the buffer). After garbage or a bad CRC the reader gives up only the
    first byte of the suspected frame and searches again, so an intact frame hidden behind a
    false start marker is still found.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.dropped_bytes = 0
        self.crc_errors = 0
        self.oversize_errors = 0
        self.frames_decoded = 0

    @property
    def pending_bytes(self) -> int:
        """Bytes held back as the possible start of a frame not yet complete."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return frames
            frames.append(frame)

    def abandon_partial(self) -> list[Frame]:
        """Give up the frame being assembled (the line went idle mid-frame) and rescan.

        Without this, a false start marker followed by a large length would hold real frames
        back until enough bytes arrived to fail its CRC.
        """
        if not self._buffer:
            return []
        self._drop(1)
        return self.feed(b"")

    def discard_pending(self) -> None:
        """Drop (and count) a partial frame, e.g. when the port was closed under it."""
        self._drop(len(self._buffer))

    def _drop(self, count: int) -> None:
        del self._buffer[:count]
        self.dropped_bytes += count

    def _next_frame(self) -> Frame | None:
        buf = self._buffer
        while True:
            start = buf.find(START)
            if start < 0:
                # Keep a trailing 0xA5: it may be the first half of the next start marker.
                keep = 1 if buf[-1:] == START[:1] else 0
                self._drop(len(buf) - keep)
                return None
            if start:
                self._drop(start)
            if len(buf) < HEADER_SIZE:
                return None
            _, ftype, seq, length = _HEADER.unpack_from(buf)
            if length > MAX_PAYLOAD:
                self.oversize_errors += 1
                self._drop(1)
                continue
            end = HEADER_SIZE + length + _CRC.size
            if len(buf) < end:
                return None
            (crc,) = _CRC.unpack_from(buf, end - _CRC.size)
            if crc != crc16(memoryview(buf)[2 : end - _CRC.size]):
                self.crc_errors += 1
                self._drop(1)
                continue
            frame = Frame(ftype, seq, bytes(buf[HEADER_SIZE : end - _CRC.size]))
            del buf[:end]
            self.frames_decoded += 1
            return frame
