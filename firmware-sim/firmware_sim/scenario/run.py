"""Running a scenario: build its devices, announce them, play the timeline, stop.

Zigbee devices publish through the network given (a real :class:`Zigbee2MqttNetwork` or a
:class:`RecordingNetwork` for dry runs and tests); serial devices open their pty or TCP port
and heartbeat in real time on their own threads. Battery devices check in at their interval
in *simulated* time, so a compressed day has its hourly reports.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware_sim.faults import FaultLog
from firmware_sim.scenario.devices import PaperSerial, SerialSim, SimulatedDevice, ZigbeeSim
from firmware_sim.scenario.load import Scenario
from firmware_sim.scenario.plan import plan
from firmware_sim.timeline import SimClock, TimedAction, run
from firmware_sim.zigbee_device import StatePublisher

log = logging.getLogger(__name__)
IDLE_EVERY_S = 60.0  # simulated seconds between check-in rounds


@dataclass
class RunOptions:
    speed: float | None = None  # None: the scenario's own
    serial_heartbeat_s: float = 30.0
    serial_link_wait_s: float = 30.0  # for the host to answer a heartbeat before step 1
    dry_run: bool = False  # serial devices on paper; Zigbee as the network given
    stop: threading.Event = field(default_factory=threading.Event)
    on_action: Callable[[TimedAction], object] = lambda _a: None
    on_time: Callable[[float], object] = lambda _s: None  # simulated time of check-ins
    note: Callable[[str], object] = log.info


@dataclass
class RunResult:
    actions: int
    faults: dict[str, int]
    unanswered_serial: list[str]  # serial devices no host answered before the steps began


def build_devices(
    scenario: Scenario, network: StatePublisher, faults: FaultLog, options: RunOptions
) -> dict[str, SimulatedDevice]:
    devices: dict[str, SimulatedDevice] = {}
    for number, spec in enumerate(scenario.devices):
        if spec.resolved_transport == "zigbee2mqtt":
            devices[spec.name] = ZigbeeSim(spec, network)
        elif options.dry_run:
            devices[spec.name] = PaperSerial(spec, faults, options.note)
        else:
            seed = scenario.meta.seed * 1000 + number  # each line its own reproducible faults
            devices[spec.name] = SerialSim(
                spec, faults, seed=seed, heartbeat_s=options.serial_heartbeat_s
            )
    return devices


def run_scenario(
    scenario: Scenario, network: StatePublisher, options: RunOptions, faults: FaultLog
) -> RunResult:
    devices = build_devices(scenario, network, faults, options)
    speed = options.speed or scenario.meta.speed
    try:
        for device in devices.values():
            device.start(0.0)
        unanswered = _wait_for_hosts(devices, options)
        timeline = plan(scenario, devices, faults)
        clock = SimClock(speed, stop=options.stop)

        def idle(now_s: float) -> None:
            # Every check-in due by now, in time order across devices (time may jump).
            while True:
                due = min((d for d in map(_due, devices.values()) if d is not None), default=None)
                if due is None or due > now_s:
                    return
                options.on_time(due)
                for device in devices.values():
                    device.tick(due)

        done = run(
            timeline, clock, idle=idle, idle_every_s=IDLE_EVERY_S, on_action=options.on_action
        )
        return RunResult(done, dict(faults.by_kind()), unanswered)
    finally:
        for device in devices.values():
            device.stop()


def _due(device: SimulatedDevice) -> float | None:
    return device.next_due()


def _wait_for_hosts(devices: dict[str, SimulatedDevice], options: RunOptions) -> list[str]:
    """Opening a port flushes its input: press only once the host has answered a heartbeat."""
    unanswered = []
    for name, device in devices.items():
        if isinstance(device, SerialSim) and not device.device.link_up.wait(
            options.serial_link_wait_s
        ):
            log.warning("no host answered %s on %s", name, device.spec.port)
            unanswered.append(name)
    return unanswered
