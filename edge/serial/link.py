"""The serial driver: one thread per port, reconnecting when the port goes away and comes back.

A USB cable gets kicked, a device reboots, a pty disappears: the link closes the port, reports
the device offline, and retries opening it with a capped backoff, forever. Decoded frames
become :mod:`edge.events`; undecodable ones are counted by reason and dropped.
"""

from __future__ import annotations

import logging
import termios
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import serial

from edge.devices import REGISTRY
from edge.errors import FrameError
from edge.events import AvailabilityChanged, DeviceRef, EdgeEvent
from edge.flood import FloodGate
from edge.serial.framing import Frame, FrameReader
from edge.serial.payloads import Ack, AckStage, FrameType, Indicate, to_frame
from edge.serial.reading import frame_events

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.05  # an idle line for this long mid-frame abandons the partial frame
MAX_BACKOFF_S = 5.0

PortOpener = Callable[[str], Any]

# What a port that vanishes mid-call raises. pyserial wraps most OS errors in SerialException,
# but not termios calls: tcsetattr while opening, tcflush, and tcdrain in ``flush()`` raise
# ``termios.error``, which is not an OSError. A cable pulled during a write hits exactly that.
PORT_GONE = (serial.SerialException, OSError, termios.error)


def open_port(url: str) -> Any:
    """Open a local device path or a pyserial URL (``socket://host:port`` for ser2net).

    A local port is locked (``flock``, pyserial's ``exclusive``): a second reader of the same
    device, such as a stale agent left running or a serial console, would otherwise silently
    take half of its frames, and a press read by the wrong process is a press lost. The second
    opener gets an error and retries like for an absent port.
    """
    return serial.serial_for_url(url, baudrate=115200, timeout=READ_TIMEOUT_S, exclusive=True)


class SerialLink:
    """Reads one serial device and writes the host's answers back to it."""

    def __init__(
        self,
        device: DeviceRef,
        url: str,
        sink: Callable[[EdgeEvent], None],
        *,
        clock: Callable[[], float] = time.time,
        opener: PortOpener = open_port,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device = device
        self.kind = REGISTRY.get(device.device_kind)
        if "serial" not in self.kind.heartbeat_s:
            raise ValueError(f"device kind {self.kind.name} has no serial form")
        self.url = url
        self._sink = sink
        self._clock = clock
        self._opener = opener
        self._port: Any = None
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"serial:{device.device_id}")
        self._reader = FrameReader()
        self._next_seq = 0
        self.rejected: Counter[str] = Counter()
        self._gate = FloodGate()
        self._monotonic = monotonic  # the flood gate's clock
        self.reconnects = 0
        self.connected = threading.Event()

    @property
    def dropped_bytes(self) -> int:
        return self._reader.dropped_bytes

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._close()

    def send(self, payload: Ack | Indicate) -> bool:
        """Write one host frame; False when the port is not open (the caller may retry)."""
        with self._write_lock:
            port = self._port
            if port is None:
                return False
            frame = to_frame(payload, self._next_seq)
            self._next_seq = (self._next_seq + 1) & 0xFFFF
            try:
                port.write(frame.encode())
                port.flush()
            except PORT_GONE as err:
                log.warning("write to %s failed: %s", self.url, err)
                return False
            return True

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                self._port = self._opener(self.url)
            except (*PORT_GONE, ValueError) as err:
                log.debug("cannot open %s: %s", self.url, err)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = 0.1
            self._reader.discard_pending()  # a frame cut by the disconnect is gone
            self._announce(online=True)
            try:
                self._read_until_gone()
            except PORT_GONE as err:
                log.warning("serial port %s went away: %s", self.url, err)
                self.reconnects += 1
            finally:
                self._close()
                self._announce(online=False)

    def _read_until_gone(self) -> None:
        port = self._port
        while not self._stop.is_set():
            data = port.read(max(1, port.in_waiting))
            frames = self._reader.feed(data) if data else self._reader.abandon_partial()
            for frame in frames:
                self._handle(frame)

    def _handle(self, frame: Frame) -> None:
        if frame.type != FrameType.KEY_PRESS and not self._gate.admit(self._monotonic()):
            self.rejected["flood"] += 1
            return
        try:
            events = frame_events(self.kind, self.device, frame, self._clock())
        except FrameError as err:
            self.rejected[err.reason] += 1
            log.warning("dropped frame from %s: %s", self.device.device_id, err)
            return
        if frame.type == FrameType.HEARTBEAT:
            # Link supervision both ways: the device shows "no connection" without this answer.
            self.send(Ack(frame.seq, AckStage.RECEIVED))
        for event in events:
            self._sink(event)

    def _announce(self, *, online: bool) -> None:
        if online:
            self.connected.set()
        else:
            self.connected.clear()
        self._sink(AvailabilityChanged(self.device, self._clock(), online))

    def _close(self) -> None:
        with self._write_lock:
            port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except PORT_GONE as err:
                log.debug("closing %s: %s", self.url, err)
