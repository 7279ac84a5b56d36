"""Simulated serial devices: the firmware's side of serial device protocol v1.

:class:`SerialDevice` owns the port, the sequence counter and the receive thread;
:class:`CallButton` adds the keys and the press/retransmit logic a real one-key call button
has: a press is repeated (same sequence number, growing age) until the host answers it (any stage),
and the LED follows the answers up to HELP_COMING.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from edge.errors import FrameError
from edge.serial.framing import FrameReader
from edge.serial.payloads import (
    Ack,
    AckStage,
    Heartbeat,
    Indicate,
    KeyKind,
    KeyPress,
    Payload,
    SampleBatch,
    SensorKind,
    SignalBlock,
    SignalKind,
    decode,
    to_frame,
)
from firmware_sim.ports import DevicePort

log = logging.getLogger(__name__)


@dataclass
class Press:
    """One press as the device saw it; ``stages`` holds when each answer arrived."""

    seq: int
    key: KeyKind
    written_at: float  # wall clock of the first write, for end-to-end latency
    pressed_at_mono: float
    transmissions: int = 0
    stages: dict[AckStage, float] = field(default_factory=dict)


class SerialDevice:
    """Base of simulated serial devices: framing, sequence numbers, the receive loop."""

    def __init__(self, port: DevicePort, *, clock: Callable[[], float] = time.time) -> None:
        self.port = port
        self._clock = clock
        self._seq = itertools.count(1)
        self._write_lock = threading.Lock()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._reader = FrameReader()
        self.received: list[Payload] = []
        self.link_up = threading.Event()  # a heartbeat has been answered
        self._threads: list[threading.Thread] = [
            threading.Thread(target=self._receive_loop, name="sim-rx", daemon=True)
        ]

    def next_seq(self) -> int:
        return next(self._seq) & 0xFFFF

    def send(self, payload: Payload, seq: int) -> None:
        data = to_frame(payload, seq).encode()
        with self._write_lock:
            self.port.write(data)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until ``predicate()`` holds (checked on every received frame) or timeout."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def _receive_loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.port.read(0.1)
            except OSError:
                self._stop.wait(0.1)  # unplugged: wait to be plugged back
                continue
            for frame in self._reader.feed(data) if data else []:
                try:
                    payload = decode(frame)
                except FrameError as err:
                    log.warning("device dropped a host frame: %s", err)
                    continue
                with self._changed:
                    self.received.append(payload)
                    self.on_host_frame(payload)
                    self._changed.notify_all()

    def on_host_frame(self, payload: Payload) -> None:
        """Called with the condition held; subclasses react to the host's answers."""


class CallButton(SerialDevice):
    """A one-key call button (emergency, service, family keys) with battery heartbeats."""

    def __init__(
        self,
        port: DevicePort,
        *,
        retransmit_s: float = 1.0,
        heartbeat_s: float = 30.0,
        battery_percent: int = 90,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(port, clock=clock)
        self.retransmit_s = retransmit_s
        self.heartbeat_s = heartbeat_s
        self.battery_percent = battery_percent
        self.presses: dict[int, Press] = {}
        self._heartbeat_seqs: set[int] = set()
        self._threads.append(
            threading.Thread(target=self._transmit_loop, name="sim-tx", daemon=True)
        )

    def press(self, key: KeyKind = KeyKind.EMERGENCY) -> Press:
        """Press a key: the frame goes out at once and again until the host has it."""
        with self._changed:
            press = Press(self.next_seq(), key, self._clock(), time.monotonic())
            self.presses[press.seq] = press
        self._transmit(press)
        return press

    def wait_for_stage(self, press: Press, stage: AckStage, timeout: float) -> bool:
        return self.wait_for(lambda: stage in press.stages, timeout)

    def on_host_frame(self, payload: Payload) -> None:
        if isinstance(payload, Ack):
            if payload.ref_seq in self._heartbeat_seqs:
                self.link_up.set()
            press = self.presses.get(payload.ref_seq)
            if press is not None and payload.stage not in press.stages:
                press.stages[payload.stage] = self._clock()
                # What the resident would see on the LED; the demo counts HELP_COMING lines.
                log.info("press %d answered: %s", press.seq, payload.stage.name)
        elif isinstance(payload, Indicate):
            log.info("LED %d buzzer %d for %d s", payload.led, payload.buzzer, payload.duration_s)

    def _transmit(self, press: Press) -> None:
        age_ms = int((time.monotonic() - press.pressed_at_mono) * 1000)
        try:
            self.send(KeyPress(press.key, age_ms), press.seq)
            press.transmissions += 1
        except OSError as err:
            log.debug("press %d not sent: %s", press.seq, err)

    def _heartbeat(self) -> None:
        seq = self.next_seq()
        self._heartbeat_seqs.add(seq)
        try:
            self.send(Heartbeat(self.battery_percent, False, self.battery_percent < 20, 0), seq)
        except OSError as err:
            log.debug("heartbeat not sent: %s", err)

    def _transmit_loop(self) -> None:
        next_heartbeat = 0.0
        while not self._stop.wait(0.05):
            now = time.monotonic()
            # Until the link is known up, heartbeat often: that is how the device finds its host.
            if now >= next_heartbeat:
                self._heartbeat()
                next_heartbeat = now + (self.heartbeat_s if self.link_up.is_set() else 0.5)
            with self._changed:
                # Any answer means the host has it: a lost RECEIVED followed by AT_CENTRE must
                # still stop the repeats.
                waiting = [p for p in self.presses.values() if not p.stages]
            for press in waiting:
                due = press.pressed_at_mono + press.transmissions * self.retransmit_s
                if now >= due:
                    self._transmit(press)


class Pendant(CallButton):
    """A fall-detection pendant: the call button's key plus a belt or neck accelerometer that
    streams SAMPLES frames (milli-g, on the device's uptime clock).

    ``play`` sends a recording as fast as the line takes it: the gateway's detector takes
    time from the samples, so a 15 s recording can be replayed in a fraction of that.
    """

    uptime_ms = 1_000_000

    def play(self, acc_g: Sequence[Sequence[float]], rate_hz: float, per_frame: int = 50) -> None:
        step = round(10_000 / rate_hz)  # sample spacing in 100 us units
        limit = 32767
        rows = [tuple(max(-limit, min(limit, round(v * 1000))) for v in row) for row in acc_g]
        for i in range(0, len(rows), per_frame):
            chunk = rows[i : i + per_frame]
            batch = SampleBatch(
                SensorKind.ACCELEROMETER,
                self.uptime_ms,
                (0,) + (step,) * (len(chunk) - 1),
                tuple((x, y, z) for x, y, z in chunk),
            )
            self.send(batch, self.next_seq())
            self.uptime_ms += round(len(chunk) * 1000 / rate_hz)


class BedSensor(CallButton):
    """An under-mattress bed sensor on a serial line: heartbeats like any serial device, and
    the raw pressure/BCG signal in SIGNAL frames (micro-units, on the device's uptime clock).

    It has no keys; ``stream`` sends a recording (e.g. :func:`firmware_sim.bed_signal.synthesize`)
    as fast as the line takes it, the gateway's estimator taking time from the samples.
    """

    uptime_ms = 1_000_000

    def stream(self, pressure: Sequence[float], rate_hz: int) -> None:
        per_frame = SignalBlock.MAX_VALUES
        values = [round(v * 1_000_000) for v in pressure]
        for i in range(0, len(values), per_frame):
            chunk = tuple(values[i : i + per_frame])
            t0_ms = self.uptime_ms + round(i * 1000 / rate_hz)
            block = SignalBlock(SignalKind.BED_PRESSURE, t0_ms, rate_hz, chunk)
            self.send(block, self.next_seq())
        self.uptime_ms += round(len(values) * 1000 / rate_hz)
