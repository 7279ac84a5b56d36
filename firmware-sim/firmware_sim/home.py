"""A simulated home for the demo: a one-key call button on a serial line pressing every few
seconds, and a Zigbee2MQTT SOS button now and then. Every press is recorded with the wall-clock
time it was written, so the end-to-end latency can be measured at the console."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from edge.serial.payloads import KeyKind
from firmware_sim.serial_device import CallButton
from firmware_sim.zigbee import SosButton

log = logging.getLogger(__name__)
STOPPED_PRESSING = "home stopped pressing"


@dataclass(frozen=True)
class PressRecord:
    device_id: str
    frame_seq: int | None  # serial presses; None for Zigbee2MQTT
    written_at: float


class PressLog:
    """Appends each press as a JSON line, flushed at once, for whoever measures latency."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", buffering=1)

    def write(self, record: PressRecord) -> None:
        self._file.write(json.dumps(asdict(record)) + "\n")

    @staticmethod
    def read(path: Path) -> list[PressRecord]:
        if not path.exists():
            return []
        return [PressRecord(**json.loads(line)) for line in path.read_text().splitlines() if line]


class SimulatedHome:
    def __init__(
        self,
        call_button: tuple[str, CallButton] | None,
        sos_button: SosButton | None,
        *,
        press_interval_s: float = 3.0,
        press_for_s: float = 0.0,
        sos_every: int = 4,
        seed: int | None = None,
    ) -> None:
        self.call_button = call_button
        self.sos_button = sos_button
        self.press_interval_s = press_interval_s
        self.press_for_s = press_for_s  # 0: forever; else stop pressing (but keep answering)
        self.sos_every = sos_every
        self.records: list[PressRecord] = []
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not crypto
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-home", daemon=True)
        self.on_press: Callable[[PressRecord], None] | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _record(self, record: PressRecord) -> None:
        self.records.append(record)
        if self.on_press is not None:
            self.on_press(record)

    def _run(self) -> None:
        until = time.monotonic() + self.press_for_s if self.press_for_s else float("inf")
        count = 0
        while not self._stop.wait(self.press_interval_s * self._rng.uniform(0.7, 1.3)):
            if time.monotonic() >= until:
                log.info("%s after %d presses", STOPPED_PRESSING, len(self.records))
                return
            count += 1
            if self.call_button is not None:
                device_id, button = self.call_button
                press = button.press(KeyKind.EMERGENCY)
                self._record(PressRecord(device_id, press.seq, press.written_at))
            if self.sos_button is not None and count % self.sos_every == 0:
                published = self.sos_button.press()
                self._record(PressRecord(published.device_id, None, published.written_at))


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
