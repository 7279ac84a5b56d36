"""A serial line with faults: garbage between frames, dropped and duplicated frames, silence.

:class:`FaultyPort` wraps the device's side of a port (a pty or a TCP port). The simulated
firmware writes one whole frame per ``write``, so each write is one frame to garble, drop or
repeat. Decisions come from a seeded generator: the same seed and the same frames give the
same faults. Every fault is recorded before the bytes go out.

Garbage never contains 0xA5, the first byte of the start marker: then every garbage byte is
dropped by the host's reader as it arrives, and its dropped-byte count equals exactly what was
injected. A false start marker is a different, nastier fault (it holds real frames back until
its CRC fails), covered by the framing tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from edge.serial.framing import HEADER_SIZE, START
from firmware_sim.faults.record import FaultLog
from firmware_sim.ports import DevicePort

GARBAGE_ALPHABET = bytes(b for b in range(256) if b != START[0])


@runtime_checkable
class Pluggable(Protocol):
    def unplug(self) -> None: ...
    def plug(self) -> None: ...


@dataclass(frozen=True)
class LineFaults:
    """Per-frame probabilities (0..1) and the size range of one burst of garbage."""

    garbage: float = 0.0  # garbage bytes written just before the frame
    drop: float = 0.0  # the frame never reaches the host
    duplicate: float = 0.0  # the frame arrives twice
    garbage_bytes: tuple[int, int] = (1, 16)

    def __post_init__(self) -> None:
        for name in ("garbage", "drop", "duplicate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a probability from 0 to 1")
        low, high = self.garbage_bytes
        if not 1 <= low <= high:
            raise ValueError("garbage_bytes must be (low, high) with 1 <= low <= high")


CLEAN = LineFaults()


def describe_frame(data: bytes) -> dict[str, int]:
    """Frame type and sequence number of an encoded frame, for the fault record."""
    if len(data) < HEADER_SIZE or not data.startswith(START):
        return {"bytes": len(data)}
    return {"type": data[2], "seq": int.from_bytes(data[3:5], "little"), "bytes": len(data)}


class FaultyPort:
    """A :class:`~firmware_sim.ports.DevicePort` that injects line faults on the way out."""

    def __init__(
        self,
        port: DevicePort,
        device: str,
        log: FaultLog,
        *,
        faults: LineFaults = CLEAN,
        seed: int = 0,
    ) -> None:
        self.port = port
        self.device = device
        self.log = log
        self.faults = faults
        self.silent = False  # a dead device: nothing at all goes out
        self.swallowed = 0  # writes the silence ate
        self._rng = random.Random(seed)  # noqa: S311 - reproducible faults, not crypto

    def write(self, data: bytes) -> None:
        if self.silent:
            self.swallowed += 1
            return
        faults = self.faults
        if faults.garbage and self._rng.random() < faults.garbage:
            self.inject_garbage(self._rng.randint(*faults.garbage_bytes))
        if faults.drop and self._rng.random() < faults.drop:
            self.log.record(self.device, "drop", **describe_frame(data))
            return
        self.port.write(data)
        if faults.duplicate and self._rng.random() < faults.duplicate:
            self.log.record(self.device, "duplicate", **describe_frame(data))
            self.port.write(data)

    def inject_garbage(self, count: int) -> bytes:
        """Write ``count`` garbage bytes now (never a start-marker byte, see the module)."""
        garbage = bytes(self._rng.choice(GARBAGE_ALPHABET) for _ in range(count))
        self.log.record(self.device, "garbage", bytes=count)
        self.port.write(garbage)
        return garbage

    def read(self, timeout: float) -> bytes:
        return self.port.read(timeout)

    def close(self) -> None:
        self.port.close()

    def unplug(self) -> None:
        """Pull the cable: the host sees the port vanish (the pty or the TCP listener)."""
        self._pluggable().unplug()
        self.log.record(self.device, "unplug")

    def plug(self) -> None:
        """Plug it back in, under the same path (pty symlink) or the same TCP port."""
        self._pluggable().plug()
        self.log.record(self.device, "replug")

    def set_silent(self, silent: bool) -> None:
        """A dead device (True) or a live one again; recorded by whoever plans the silence
        (:func:`firmware_sim.faults.devices.silence`)."""
        self.silent = silent

    def _pluggable(self) -> Pluggable:
        port = self.port
        if not isinstance(port, Pluggable):
            raise TypeError(f"{type(port).__name__} cannot be unplugged")
        return port
