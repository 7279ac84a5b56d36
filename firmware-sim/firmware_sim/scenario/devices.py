"""The devices of a running scenario, one interface whatever the transport.

A step asks a device to press a key, change state, drain its battery or fall silent; the
adapters here turn that into what the device really does: a Zigbee2MQTT state message, or
frames on a serial line (through a :class:`~firmware_sim.faults.FaultyPort`, so line faults
can be switched on at any step). :class:`PaperSerial` stands in for a serial device in a dry
run: it notes what would have been sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from edge.serial.payloads import KeyKind
from firmware_sim.faults import FaultLog, FaultyPort
from firmware_sim.ports import DevicePort, PtyPort, TcpPort
from firmware_sim.scenario.format import DeviceSpec
from firmware_sim.serial_device import CallButton, Pendant
from firmware_sim.zigbee_device import SosButton, StatePublisher, ZigbeeDevice, make_device
from firmware_sim.zigbee_kinds import Json

SERIAL_DEVICES: Mapping[str, type[CallButton]] = {
    "call_button": CallButton,
    "fall_pendant": Pendant,
}
SERIAL_BATTERY = 90


class NullPort:
    """A line to nowhere, for dry runs: takes every byte, says nothing."""

    def write(self, data: bytes) -> None:
        """Discarded."""

    def read(self, timeout: float) -> bytes:
        return b""

    def close(self) -> None:
        """Nothing to close."""

    def unplug(self) -> None:
        """Nothing to pull."""

    def plug(self) -> None:
        """Nothing to plug."""


class SimulatedDevice(Protocol):
    spec: DeviceSpec
    port: FaultyPort | None  # serial devices: the line, for line faults and unplugging

    def start(self, now_s: float) -> None: ...
    def stop(self) -> None: ...
    def next_due(self) -> float | None: ...
    def tick(self, now_s: float) -> None: ...
    def press(self, key: str) -> None: ...
    def update(self, values: Mapping[str, Json]) -> None: ...
    def set_active(self, active: bool) -> None: ...
    def battery(self) -> int: ...
    def set_battery(self, percent: int) -> None: ...
    def set_silent(self, silent: bool, *, offline: bool) -> None: ...


class ZigbeeSim:
    def __init__(self, spec: DeviceSpec, network: StatePublisher) -> None:
        self.spec = spec
        self.port: FaultyPort | None = None
        self.device: ZigbeeDevice = make_device(network, spec.name, spec.kind, room=spec.room)
        self.device.state.update(spec.state)
        if spec.battery is not None:
            self.device.set_battery(spec.battery, publish=False)

    def start(self, now_s: float) -> None:
        self.device.announce(now_s)

    def stop(self) -> None:
        """Nothing to release: the network belongs to the run."""

    def next_due(self) -> float | None:
        return self.device.next_report_at

    def tick(self, now_s: float) -> None:
        self.device.tick(now_s)

    def press(self, key: str) -> None:
        if not isinstance(self.device, SosButton):
            raise TypeError(f"{self.spec.name} has no key")
        self.device.press()

    def update(self, values: Mapping[str, Json]) -> None:
        self.device.update(values)

    def set_active(self, active: bool) -> None:
        self.device.set_active(active)

    def battery(self) -> int:
        level = self.device.state.get("battery", 100)
        return level if isinstance(level, int) else 100

    def set_battery(self, percent: int) -> None:
        self.device.set_battery(percent)

    def set_silent(self, silent: bool, *, offline: bool) -> None:
        if silent and offline:
            self.device.go_offline()
        elif silent:
            self.device.silent = True
        else:
            self.device.silent = False
            self.device.announce()


def open_port(spec: DeviceSpec) -> DevicePort:
    """``pty:PATH`` (a pty published at PATH, like a by-id link) or ``tcp:HOST:PORT``."""
    assert spec.port is not None
    scheme, _, where = spec.port.partition(":")
    if scheme == "pty":
        path = Path(where)
        path.parent.mkdir(parents=True, exist_ok=True)
        return PtyPort(path)
    host, _, number = where.rpartition(":")
    return TcpPort(host, int(number))


class SerialSim:
    def __init__(self, spec: DeviceSpec, log: FaultLog, *, seed: int, heartbeat_s: float) -> None:
        self.spec = spec
        self.port: FaultyPort | None = FaultyPort(open_port(spec), spec.name, log, seed=seed)
        self.device = SERIAL_DEVICES[spec.kind](
            self.port, heartbeat_s=heartbeat_s, battery_percent=spec.battery or SERIAL_BATTERY
        )

    def start(self, now_s: float) -> None:
        self.device.start()

    def stop(self) -> None:
        self.device.stop()
        if self.port is not None:
            self.port.close()

    def next_due(self) -> float | None:
        return None  # the device heartbeats on its own thread, in real time

    def tick(self, now_s: float) -> None:
        """Nothing: see :meth:`next_due`."""

    def press(self, key: str) -> None:
        self.device.press(KeyKind[key.upper()])

    def update(self, values: Mapping[str, Json]) -> None:
        raise TypeError(f"{self.spec.name} is a serial device: no state to set")

    def set_active(self, active: bool) -> None:
        raise TypeError(f"{self.spec.name} is not a sensor")

    def battery(self) -> int:
        return self.device.battery_percent

    def set_battery(self, percent: int) -> None:
        self.device.battery_percent = percent

    def set_silent(self, silent: bool, *, offline: bool) -> None:
        if self.port is not None:
            self.port.set_silent(silent)


class PaperSerial:
    """A serial device on paper, for dry runs: every action becomes a line of text."""

    def __init__(self, spec: DeviceSpec, log: FaultLog, note: Callable[[str], object]) -> None:
        self.spec = spec
        self.port: FaultyPort | None = FaultyPort(NullPort(), spec.name, log)
        self._note = note
        self._battery = spec.battery or SERIAL_BATTERY

    def start(self, now_s: float) -> None:
        self._note(f"serial {self.spec.name} on {self.spec.port}")

    def stop(self) -> None:
        """Nothing was opened."""

    def next_due(self) -> float | None:
        return None  # no heartbeats on paper

    def tick(self, now_s: float) -> None:
        """Nothing: see :meth:`next_due`."""

    def press(self, key: str) -> None:
        self._note(f"serial {self.spec.name} KEY_PRESS {key}")

    def update(self, values: Mapping[str, Json]) -> None:
        raise TypeError(f"{self.spec.name} is a serial device: no state to set")

    def set_active(self, active: bool) -> None:
        raise TypeError(f"{self.spec.name} is not a sensor")

    def battery(self) -> int:
        return self._battery

    def set_battery(self, percent: int) -> None:
        self._battery = percent
        self._note(f"serial {self.spec.name} battery {percent} % in its next HEARTBEAT")

    def set_silent(self, silent: bool, *, offline: bool) -> None:
        self._note(f"serial {self.spec.name} {'silent' if silent else 'talking again'}")
