"""The faults a chaos campaign injects, each one episode: break something, hold, repair.

Every injector takes the hold time and returns when the system is whole again (the broken
part restarted, the cable back, the path healed), so the campaign can run them one after the
other on a seeded timetable. Each episode is written to the :class:`FaultLog`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware_sim.faults import FaultLog, FaultyPort
from firmware_sim.fleet import Fleet, FleetConfig, HomeRates

from onebox.broker import Broker
from onebox.net import port_open, wait_for
from onebox.partition import Partition
from onebox.stack import GatewayProcess, ServerProcess

Injector = Callable[[float], None]


@dataclass
class Target:
    """What the campaign may break."""

    broker: Broker
    servers: list[ServerProcess]
    gateway: GatewayProcess
    partition: Partition
    serial: FaultyPort
    flood: Callable[[], Fleet]  # a fleet of chatty homes, made fresh for each flood
    log: FaultLog
    pause: threading.Event = field(default_factory=threading.Event)  # never set: holds time

    def hold(self, seconds: float) -> None:
        """The fault lasts this long: a length of time, not a wait for a condition."""
        self.pause.wait(seconds)

    def injectors(self) -> dict[str, Injector]:
        return {
            "gateway_kill": self.gateway_kill,
            "broker_restart": self.broker_restart,
            "server_kill": self.server_kill,
            "partition": self.cut_uplink,
            "serial_unplug": self.serial_unplug,
            "telemetry_flood": self.telemetry_flood,
        }

    def gateway_kill(self, hold_s: float) -> None:
        self.log.record("gateway", "gateway_kill", hold_s=round(hold_s, 2))
        self.gateway.service.kill()
        self.hold(hold_s)
        self.gateway.start()

    def broker_restart(self, hold_s: float) -> None:
        self.log.record("broker", "broker_restart", hold_s=round(hold_s, 2))
        self.broker.kill()
        self.hold(hold_s)
        # The same configuration, password file and persistence file: a restart in place.
        service = self.broker.service
        assert service is not None
        service.start()
        wait_for(lambda: port_open(self.broker.port), 10, "mosquitto back")

    def server_kill(self, hold_s: float) -> None:
        victim = self.servers[len(self.log.records) % len(self.servers)]
        self.log.record(victim.service.name, "server_kill", hold_s=round(hold_s, 2))
        victim.service.kill()
        self.hold(hold_s)
        victim.start()

    def cut_uplink(self, hold_s: float) -> None:
        self.log.record("gateway", "partition", hold_s=round(hold_s, 2))
        self.partition.cut()
        self.hold(hold_s)
        self.partition.heal()

    def serial_unplug(self, hold_s: float) -> None:
        self.serial.unplug()  # the port records it
        self.hold(hold_s)
        self.serial.plug()

    def telemetry_flood(self, hold_s: float) -> None:
        self.log.record("fleet", "telemetry_flood", hold_s=round(hold_s, 2))
        fleet = self.flood().start()
        self.hold(hold_s)
        fleet.stop()


def flood_fleet(base: FleetConfig, multiplier: float) -> Callable[[], Fleet]:
    """Chatty homes: telemetry at ``multiplier`` times the normal rate, no alarms."""
    rates = HomeRates(heartbeat_s=30, multiplier=multiplier, alarm_multiplier=0)

    def make() -> Fleet:
        return Fleet(
            FleetConfig(base.host, base.port, base.gateway_ids, base.password, rates=rates)
        )

    return make


EPISODES = (
    "gateway_kill",
    "broker_restart",
    "server_kill",
    "partition",
    "unplug",
    "telemetry_flood",
)


def episodes(log: FaultLog) -> int:
    """Injected faults: one per episode (an unplug and its replug are one)."""
    return sum(log.count(kind) for kind in EPISODES)
